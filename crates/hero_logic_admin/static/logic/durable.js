// Durable runs in the admin: a sleeping Play's wake-up (when, a countdown, Wake now and
// Cancel), Re-run of the overlaid Play in the play bar, and Re-run from here (a fork from
// one step) on the nodes of the flow and of the tree. Each opens the new Play.

import { errorText, rpc } from './api.js';
import { byId, clear, el } from './dom.js';
import { clock, fullTime, isTerminal } from './format.js';
import { rememberPlay, setRunMessage, showOverlay } from './actions.js';
import { store } from './state.js';

let countdown = 0;

// "in 1 min 05 s", "in 12 s", "now": the time left until a wake-up.
function timeLeft(wakeAt) {
  const left = Math.max(0, Math.round((wakeAt - Date.now()) / 1000));
  if (!left) return 'any moment now';
  const m = Math.floor(left / 60), s = left % 60;
  return 'in ' + (m ? m + ' min ' + String(s).padStart(2, '0') + ' s' : s + ' s');
}

function tickCountdowns() {
  const shown = document.querySelectorAll('.wake-in[data-wake-at]');
  shown.forEach(function (node) { node.textContent = timeLeft(Number(node.getAttribute('data-wake-at'))); });
  if (!shown.length) { window.clearInterval(countdown); countdown = 0; }
}

function openPlay(play, what) {
  setRunMessage(what + ' started as Play ' + play.sid + '.');
  rememberPlay(play);
  showOverlay(play.sid, 'push', { play: play, descendants: [], ancestors: [] });
}

function failedTo(what, button) {
  return function (err) {
    if (button) button.disabled = false;
    setRunMessage(what + ' failed: ' + errorText(err), true);
  };
}

// The card of a sleep (a `timer` question): when it wakes, how long until then, and the
// person's two ways out: wake it now (answers the timer) or cancel the run.
export function timerCard(play, request) {
  const ui = request.ui || {};
  const wakeAt = Number(ui.wake_at) || 0;
  const card = el('form', { class: 'pause-form timer-card', 'data-play': play.sid, 'data-resume': request.id, 'data-kind': 'timer', novalidate: true });
  const note = el('p', { class: 'pause-error', role: 'alert', hidden: true });
  const wake = el('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'wake', text: 'Wake now' });
  const cancel = el('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'cancel', text: 'Cancel',
    onclick: function () {
      cancel.disabled = true;
      const root = store.get().overlay.root;
      rpc('LogicService.play_cancel', { play_sid: root ? root.sid : play.sid }).then(function () {}, function (err) {
        cancel.disabled = false;
        note.textContent = 'Cancel failed: ' + errorText(err);
        note.hidden = false;
      });
    } });
  card.appendChild(el('p', { class: 'pause-head' }, [play.name + ' sleeps', el('span', { class: 'node-sid', text: 'Play ' + play.sid })]));
  card.appendChild(el('p', { class: 'pause-prompt' }, [
    'Wakes at ', el('time', { class: 'wake-at', datetime: new Date(wakeAt).toISOString(), title: fullTime(wakeAt), text: clock(wakeAt) }),
    ' (', el('span', { class: 'wake-in', 'data-wake-at': String(wakeAt), text: timeLeft(wakeAt) }), ')',
    ui.prompt ? el('span', { class: 'muted', text: ' · ' + ui.prompt }) : null
  ]));
  card.appendChild(el('div', { class: 'pause-actions' }, [wake, cancel]));
  card.appendChild(note);
  card.addEventListener('submit', function (event) {
    event.preventDefault();
    wake.disabled = true;
    rpc('LogicService.play_resume', { play_sid: play.sid, resume_id: request.id, payload: null }).then(function () {
      card.classList.add('sent');
    }, function (err) {
      wake.disabled = false;
      note.textContent = 'Wake failed: ' + errorText(err);
      note.hidden = false;
    });
  });
  if (!countdown) countdown = window.setInterval(tickCountdowns, 1000);
  return card;
}

export function isTimer(request) { return !!request && !!request.ui && request.ui.kind === 'timer'; }

// A tree node's "sleeps until 08:04:34" while its Play waits on a timer; null otherwise.
export function sleepFlag(play) {
  if (play.status !== 'awaiting_resume') return null;
  const timer = (play.pending_resumes || []).filter(isTimer)[0];
  if (!timer) return null;
  const wakeAt = Number(timer.ui.wake_at) || 0;
  return el('span', { class: 'node-flag sleeps', title: fullTime(wakeAt), text: 'sleeps until ' + clock(wakeAt) });
}

// "Re-run" beside ▶ Run: the overlaid top-level Play again, with the same inputs and limits.
function renderRerun(state) {
  const slot = byId('rerun-slot');
  if (!slot) return;
  clear(slot);
  const root = state.overlay.root;
  if (!root || root.parent_play_sid || !isTerminal(root.status)) return;
  const button = el('button', { type: 'button', class: 'btn', id: 'rerun-button', title: 'Run Play ' + root.sid + ' again with the same inputs', text: '↻ Re-run',
    onclick: function () {
      button.disabled = true;
      rpc('LogicService.play_rerun', { play_sid: root.sid }).then(function (play) { openPlay(play, 'Re-run'); }, failedTo('Re-run', button));
    } });
  slot.appendChild(button);
}

// "Re-run from here" for a step of the overlaid top-level Play: a new Play that replays the
// steps before it from the record and runs from it fresh. Only for a finished run's own
// steps (a fork names a step of the top-level Play). Null when it does not apply.
export function forkButton(step) {
  const root = store.get().overlay.root;
  if (!root || root.parent_play_sid || !isTerminal(root.status) || !step || step.parent_play_sid !== root.sid) return null;
  const button = el('button', { type: 'button', class: 'btn btn-small fork-button', 'data-step': step.step_key,
    title: 'A new Play that replays the steps before this one and runs from here', text: '↻ Re-run from here',
    onclick: function (event) {
      event.preventDefault();
      event.stopPropagation();
      button.disabled = true;
      rpc('LogicService.play_fork', { play_sid: root.sid, from_step: step.step_key }).then(function (play) { openPlay(play, 'Re-run from ' + step.name); }, failedTo('Re-run from here', button));
    } });
  return button;
}

export function mountRerun() {
  store.subscribe(['overlay'], renderRerun);
  renderRerun(store.get());
}
