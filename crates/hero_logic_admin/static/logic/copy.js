// Copy buttons: on every output card, the raw output, a failure's message and traceback, and
// the overlaid Play's inputs. They decorate what the output column draws (watched, so the
// column's own code stays unaware of them) and copy the exact JSON or text.

import { byId, el } from './dom.js';
import { store } from './state.js';

const COPIED_MS = 1400;

function writeClipboard(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain-HTTP admin on another host: the old way still works there.
  const area = el('textarea', { class: 'sr-only', 'aria-hidden': 'true' });
  area.value = text;
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error('the browser refused to copy'));
}

function copyButton(label, text) {
  const button = el('button', { type: 'button', class: 'icon-btn copy-btn', title: label, 'aria-label': label, text: 'Copy' });
  button.addEventListener('click', function (event) {
    event.preventDefault();
    event.stopPropagation();
    writeClipboard(text()).then(function () {
      button.textContent = 'Copied';
      button.classList.add('copied');
    }, function (err) {
      button.textContent = 'Copy failed';
      button.title = String(err && err.message || err);
    }).then(function () {
      setTimeout(function () { button.textContent = 'Copy'; button.classList.remove('copied'); }, COPIED_MS);
    });
  });
  return button;
}

function pretty(json) {
  try { return JSON.stringify(JSON.parse(json), null, 2); } catch (_) { return json; }
}

// Adds the buttons the output column lacks; runs after each redraw of it.
function decorateOutput(box) {
  box.querySelectorAll('.out-card[data-json]').forEach(function (card) {
    const head = card.querySelector('.out-head');
    if (!head || head.querySelector('.copy-btn')) return;
    head.appendChild(copyButton('Copy output ' + card.dataset.output, function () { return pretty(card.dataset.json); }));
  });
  box.querySelectorAll('.out-raw').forEach(function (raw) {
    if (raw.previousElementSibling && raw.previousElementSibling.classList.contains('copy-row')) return;
    raw.before(el('div', { class: 'copy-row' }, [copyButton('Copy the output JSON', function () { return raw.textContent; })]));
  });
  box.querySelectorAll('.error-card').forEach(function (card) {
    const title = card.querySelector('.error-title');
    if (!title || title.querySelector('.copy-btn')) return;
    title.appendChild(copyButton('Copy the error and its traceback', function () {
      const message = card.querySelector('.error-message');
      const trace = card.querySelector('details pre');
      return [message ? message.textContent : '', trace ? trace.textContent : ''].filter(Boolean).join('\n\n');
    }));
  });
}

function mountInputsCopy() {
  const form = byId('run-form');
  const head = form && form.querySelector('.pb-head');
  if (!head) return;
  const button = copyButton('Copy the inputs of the shown Play', function () {
    const root = store.get().overlay.root;
    return JSON.stringify(root ? root.input_data : {}, null, 2);
  });
  button.id = 'copy-inputs';
  head.querySelector('h2').after(button);
  function show(state) { button.hidden = !state.overlay.root; }
  store.subscribe(['overlay'], show);
  show(store.get());
}

export function mountCopyButtons() {
  const box = byId('output');
  if (box) {
    new MutationObserver(function () { decorateOutput(box); }).observe(box, { childList: true, subtree: true });
    decorateOutput(box);
  }
  mountInputsCopy();
}
