// The questions of the overlaid run, pinned above the trace as forms (text, number, choice,
// multi_choice, confirm) that answer the Play that asked. The daemon judges every answer
// (engine/forms.rs): a form sends what the person entered and shows the daemon's refusal.
// Forms stay across live updates so what a person typed is kept. Slice: overlay.

import { errorText, rpc } from './api.js';
import { byId, el, pauseIcon } from './dom.js';
import { allPlays, store } from './state.js';
import { isTimer, timerCard } from './durable.js';

let forms = {};          // "play sid|resume id" -> form element
let formsOfLoad = -1;    // the overlay the forms belong to
let counter = 0;

function submitButton() { return el('button', { type: 'submit', class: 'btn btn-primary', text: 'Submit answer' }); }

function confirmWidget(form, actions, dflt) {
  actions.appendChild(el('button', { type: 'submit', class: 'btn ' + (dflt === false ? '' : 'btn-primary'), value: 'yes', 'data-answer': 'yes', text: 'Yes' }));
  actions.appendChild(el('button', { type: 'submit', class: 'btn ' + (dflt === false ? 'btn-primary' : ''), value: 'no', 'data-answer': 'no', text: 'No' }));
  return function (submitter) { return !(submitter && submitter.getAttribute('data-answer') === 'no'); };
}

function choiceWidget(form, actions, ui, base, multi) {
  const dflt = ui['default'];
  const set = el('fieldset', { 'aria-labelledby': base + '-prompt', 'aria-describedby': base + '-error' });
  (ui.options || []).forEach(function (option, i) {
    const id = base + '-o' + i;
    set.appendChild(el('label', { class: 'opt', 'for': id }, [
      el('input', { type: multi ? 'checkbox' : 'radio', name: base, id: id, value: option, checked: multi ? false : dflt === option }),
      option
    ]));
  });
  form.appendChild(set);
  if (multi && (ui.min != null || ui.max != null)) {
    const bounds = [];
    if (ui.min != null) bounds.push('at least ' + ui.min);
    if (ui.max != null) bounds.push('at most ' + ui.max);
    actions.appendChild(el('span', { class: 'pause-hint', text: 'Pick ' + bounds.join(' and ') + '.' }));
  }
  actions.insertBefore(submitButton(), actions.firstChild);
  return function () {
    const picked = Array.prototype.map.call(set.querySelectorAll('input:checked'), function (i) { return i.value; });
    // Nothing picked in a choice is sent as null, which the daemon refuses with the options.
    return multi ? picked : (picked.length ? picked[0] : null);
  };
}

function numberWidget(form, actions, ui, base) {
  const dflt = ui['default'];
  const num = el('input', {
    type: 'number', id: base + '-input', step: ui.integer ? '1' : 'any', min: ui.min, max: ui.max,
    value: dflt != null ? String(dflt) : '', placeholder: ui.placeholder || '',
    'aria-labelledby': base + '-prompt', 'aria-describedby': base + '-error'
  });
  form.appendChild(num);
  if (ui.min != null || ui.max != null) {
    actions.appendChild(el('span', { class: 'pause-hint', text: (ui.integer ? 'A whole number' : 'A number') +
      (ui.min != null ? ' from ' + ui.min : '') + (ui.max != null ? ' to ' + ui.max : '') + '.' }));
  }
  actions.insertBefore(submitButton(), actions.firstChild);
  // The text as typed: the daemon reads numbers from text and says what is wrong with it.
  return function () { return num.value; };
}

function textWidget(form, actions, ui, base) {
  const dflt = ui['default'];
  const attrs = {
    id: base + '-input', placeholder: ui.placeholder || '', 'aria-labelledby': base + '-prompt', 'aria-describedby': base + '-error',
    value: typeof dflt === 'string' ? dflt : ''
  };
  let text;
  if (ui.multiline) { attrs.rows = 3; text = el('textarea', attrs); } else { attrs.type = 'text'; attrs.autocomplete = 'off'; text = el('input', attrs); }
  form.appendChild(text);
  actions.insertBefore(submitButton(), actions.firstChild);
  return function () { return text.value; };
}

function pauseForm(play, request) {
  if (isTimer(request)) return timerCard(play, request);
  counter += 1;
  const ui = request.ui || {};
  const kind = ui.kind || 'text';
  const base = 'pause-' + counter;
  const form = el('form', { class: 'pause-form', 'data-play': play.sid, 'data-resume': request.id, 'data-kind': kind, 'aria-labelledby': base + '-prompt', novalidate: true });
  form.appendChild(el('p', { class: 'pause-head' }, [
    pauseIcon(), play.name + ' asks', el('span', { class: 'node-sid', text: 'Play ' + play.sid })
  ]));
  form.appendChild(el('p', { class: 'pause-prompt', id: base + '-prompt', text: ui.prompt || request.name || 'Answer needed' }));
  const error = el('p', { class: 'pause-error', id: base + '-error', role: 'alert', hidden: true });
  const actions = el('div', { class: 'pause-actions' });
  let read;
  if (kind === 'confirm') read = confirmWidget(form, actions, ui['default']);
  else if (kind === 'choice' || kind === 'multi_choice') read = choiceWidget(form, actions, ui, base, kind === 'multi_choice');
  else if (kind === 'number') read = numberWidget(form, actions, ui, base);
  else read = textWidget(form, actions, ui, base);
  form.appendChild(actions);
  form.appendChild(error);
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    error.hidden = true;
    const buttons = form.querySelectorAll('button');
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    rpc('LogicService.play_resume', { play_sid: play.sid, resume_id: request.id, payload: read(event.submitter) }).then(function () {
      form.classList.add('sent');
      actions.appendChild(el('span', { class: 'pause-sent', role: 'status', text: 'Answer sent; the run continues…' }));
    }, function (err) {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      error.textContent = errorText(err);
      error.hidden = false;
    });
  });
  return form;
}

function renderPauseForms(state) {
  const box = byId('pause-forms');
  const overlay = state.overlay;
  if (formsOfLoad !== overlay.load) {
    // Another Play overlaid: its questions, none of the last one's.
    formsOfLoad = overlay.load;
    forms = {};
    box.replaceChildren();
  }
  const wanted = {};
  const order = [];
  allPlays(overlay).forEach(function (p) {
    if (p.status !== 'awaiting_resume') return;
    (p.pending_resumes || []).forEach(function (r) {
      const key = p.sid + '|' + r.id;
      wanted[key] = { play: p, request: r };
      order.push(key);
    });
  });
  Object.keys(forms).forEach(function (key) {
    if (!wanted[key]) { forms[key].remove(); delete forms[key]; }
  });
  order.forEach(function (key) {
    if (forms[key]) return;
    const form = pauseForm(wanted[key].play, wanted[key].request);
    forms[key] = form;
    box.appendChild(form);
    const active = document.activeElement;
    if (!active || active === document.body || active === byId('run-button') || (active.closest && active.closest('.pause-form.sent'))) {
      const first = form.querySelector('input, textarea, button');
      if (first) first.focus({ preventScroll: true });
    }
  });
}

export function mountPauseForms() {
  store.subscribe(['overlay'], renderPauseForms);
  renderPauseForms(store.get());
}
