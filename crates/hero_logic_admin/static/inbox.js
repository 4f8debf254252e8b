// The Inbox page: answers a question in place through play_resume, and says what the daemon
// said when it refuses the answer (the question stays, nothing is lost).
import { rpc, errorText } from './logic/api.js';

function payload(kind, value) {
  if (kind === 'confirm') return value === 'true';
  if (kind === 'number') return Number(value);
  return value;
}

function answer(item, form, submitter) {
  const status = form.querySelector('.inbox-status');
  const field = submitter && submitter.name === 'answer' ? submitter : form.elements.answer;
  const value = field ? field.value : '';
  status.textContent = 'Sending…';
  rpc('LogicService.play_resume', {
    play_sid: item.dataset.play,
    resume_id: item.dataset.resume,
    payload: payload(item.dataset.kind, value)
  }).then(function () {
    item.classList.add('answered');
    status.textContent = 'Answered.';
    form.querySelectorAll('button, input, select').forEach(function (el) { el.disabled = true; });
  }, function (err) {
    status.textContent = errorText(err);
    status.classList.add('error');
  });
}

document.querySelectorAll('.inbox-item').forEach(function (item) {
  const form = item.querySelector('.inbox-answer');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    answer(item, form, event.submitter);
  });
});
