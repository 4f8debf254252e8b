// The play bar's inputs column: one typed widget per declared input of the viewed version,
// Examples, recent Plays and ▶ Run. Slices: viewed, runMessage, examples, plays, overlay.

import { errorText, rpc } from './api.js';
import { byId, clear, dot, el } from './dom.js';
import { fmtDuration, isTerminal, relTime, shownStatus, statusLabel } from './format.js';
import { rememberPlay, setRunMessage, showOverlay } from './actions.js';
import { page, store } from './state.js';

const MULTILINE_NAMES = /^(text|prompt|body|content|message|source|code|notes|document|query|instructions|description)$/;

const fieldsBox = byId('input-fields');
const runForm = byId('run-form');
const runButton = byId('run-button');
const examplesMenu = byId('examples-menu');
const playsMenu = byId('plays-menu');

// The fields the widgets on screen were drawn for (the viewed version's inputs).
let shownFields = [];

// ---------------------------------------------------------------- input widgets

function inputId(name) { return 'in-' + name.replace(/[^A-Za-z0-9_-]/g, '_'); }

function isMultiline(field) {
  if (field.field_type !== 'string') return false;
  if (typeof field['default'] === 'string' && field['default'].indexOf('\n') >= 0) return true;
  return MULTILINE_NAMES.test(field.name);
}

function widgetKind(field) {
  if (field.options && field.options.length) return 'select';
  switch (field.field_type) {
    case 'boolean': return 'checkbox';
    case 'integer': case 'number': return 'number';
    case 'object': case 'array': case 'any': return 'json';
    default: return isMultiline(field) ? 'textarea' : 'text';
  }
}

function isRequired(field) { return !!field.required && field['default'] === undefined; }

function widget(field, id, kind, required) {
  const described = [];
  if (field.description) described.push(id + '-help');
  described.push(id + '-err');
  const common = {
    id: id, name: field.name, 'data-field': field.name, 'data-kind': kind,
    'aria-describedby': described.join(' '), 'aria-required': required ? 'true' : null
  };
  if (kind === 'select') {
    const options = [];
    if (!required) options.push(el('option', { value: '', text: '— not set —' }));
    else if (field['default'] === undefined) options.push(el('option', { value: '', text: 'Choose…' }));
    field.options.forEach(function (o) { options.push(el('option', { value: o, text: o })); });
    return el('select', common, options);
  }
  if (kind === 'checkbox') {
    common.type = 'checkbox';
    return el('input', common);
  }
  if (kind === 'number') {
    common.type = 'number';
    common.step = field.field_type === 'integer' ? '1' : 'any';
    common.inputmode = field.field_type === 'integer' ? 'numeric' : 'decimal';
    return el('input', common);
  }
  if (kind === 'json') {
    common['class'] = 'code';
    common.rows = field.field_type === 'any' ? 2 : 3;
    common.spellcheck = 'false';
    common.placeholder = field.field_type === 'array' ? '[ ]  JSON array' : field.field_type === 'object' ? '{ }  JSON object' : 'JSON, or plain text';
    return el('textarea', common);
  }
  if (kind === 'textarea') {
    common.rows = 3;
    return el('textarea', common);
  }
  common.type = 'text';
  common.autocomplete = 'off';
  return el('input', common);
}

function renderInputs(fields) {
  shownFields = fields || [];
  clear(fieldsBox);
  if (!shownFields.length) {
    fieldsBox.appendChild(el('p', { class: 'no-inputs', text: 'This Logic takes no inputs. Press Run.' }));
    return;
  }
  shownFields.forEach(function (field) {
    const id = inputId(field.name);
    const kind = widgetKind(field);
    const required = isRequired(field);
    const input = widget(field, id, kind, required);
    const label = el('label', { class: 'flabel', 'for': id }, [
      field.name,
      required ? el('span', { class: 'req', 'aria-hidden': 'true', text: '*' }) : null,
      required ? el('span', { class: 'sr-only', text: '(required)' }) : null,
      el('span', { class: 'ftype', text: field.field_type + (field.options && field.options.length ? ' · choice' : '') })
    ]);
    const body = kind === 'checkbox'
      ? el('div', { class: 'check' }, [input, el('span', { class: 'muted', text: 'true when checked' })])
      : input;
    fieldsBox.appendChild(el('div', { class: 'field', 'data-name': field.name }, [
      label,
      body,
      field.description ? el('p', { class: 'help', id: id + '-help', text: field.description }) : null,
      el('p', { class: 'field-error', id: id + '-err', hidden: true })
    ]));
    if (field['default'] !== undefined) setWidget(field, input, field['default']);
  });
}

function parsesAsJson(text) { try { JSON.parse(text); return true; } catch (e) { return false; } }

function setWidget(field, input, value) {
  const kind = input.getAttribute('data-kind');
  if (kind === 'checkbox') { input.checked = value === true || value === 'true'; return; }
  if (value === undefined || value === null) { input.value = ''; return; }
  if (kind === 'json') {
    if (field.field_type === 'any' && typeof value === 'string' && !parsesAsJson(value)) input.value = value;
    else input.value = JSON.stringify(value, null, 2);
    return;
  }
  input.value = typeof value === 'string' ? value : String(value);
}

function widgetFor(name) { return fieldsBox.querySelector('[data-field="' + CSS.escape(name) + '"]'); }

// Fills the form from saved or past inputs; fields the values leave out keep their default.
function fillInputs(values, fields) {
  renderInputs(fields || store.get().viewed.version.inputs);
  shownFields.forEach(function (field) {
    if (values && Object.prototype.hasOwnProperty.call(values, field.name)) {
      const input = widgetFor(field.name);
      if (input) setWidget(field, input, values[field.name]);
    }
  });
}

function setFieldError(name, message) {
  const input = widgetFor(name);
  if (!input) return false;
  const box = byId(input.id + '-err');
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  if (box) { box.textContent = message || ''; box.hidden = !message; }
  return true;
}

function clearFieldErrors() {
  shownFields.forEach(function (field) { setFieldError(field.name, ''); });
}

// Reads the widgets into the values they stand for: {values, errors: [[name, message]]}.
// The daemon checks the values again when the Play starts; this only turns text into JSON.
function readInputs() {
  const values = {};
  const errors = [];
  shownFields.forEach(function (field) {
    const input = widgetFor(field.name);
    if (!input) return;
    const kind = input.getAttribute('data-kind');
    const required = isRequired(field);
    if (kind === 'checkbox') { values[field.name] = input.checked; return; }
    const raw = input.value;
    const text = kind === 'textarea' || kind === 'text' ? raw : raw.trim();
    if (text === '' || (kind === 'text' && raw.trim() === '' && required)) {
      if (required) errors.push([field.name, field.name + ' is required']);
      return;
    }
    if (kind === 'number') {
      const n = Number(text);
      if (!isFinite(n)) { errors.push([field.name, 'enter a number']); return; }
      if (field.field_type === 'integer' && Math.floor(n) !== n) { errors.push([field.name, 'enter a whole number']); return; }
      values[field.name] = n;
    } else if (kind === 'json') {
      let parsed;
      try { parsed = JSON.parse(text); } catch (e) {
        if (field.field_type === 'any') { values[field.name] = raw; return; }
        errors.push([field.name, 'not valid JSON: ' + e.message]);
        return;
      }
      if (field.field_type === 'array' && !Array.isArray(parsed)) { errors.push([field.name, 'enter a JSON array, e.g. ["a", "b"]']); return; }
      if (field.field_type === 'object' && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
        errors.push([field.name, 'enter a JSON object, e.g. {"key": "value"}']);
        return;
      }
      values[field.name] = parsed;
    } else {
      values[field.name] = raw;
    }
  });
  return { values: values, errors: errors };
}

function showInputErrors(errors) { errors.forEach(function (e) { setFieldError(e[0], e[1]); }); }

// ---------------------------------------------------------------- run

function startRun(event) {
  if (event) event.preventDefault();
  clearFieldErrors();
  const read = readInputs();
  if (read.errors.length) {
    showInputErrors(read.errors);
    setRunMessage('Fix ' + (read.errors.length === 1 ? 'the marked field' : 'the ' + read.errors.length + ' marked fields') + ' first.', true);
    const first = widgetFor(read.errors[0][0]);
    if (first) first.focus();
    return;
  }
  runButton.disabled = true;
  setRunMessage('Starting…');
  const version = store.get().viewed.version;
  const params = { logic: page.logic.sid, inputs: read.values };
  if (version.sid && version !== page.currentVersion) params.version = version.sid;
  rpc('LogicService.play_start', params).then(function (play) {
    setRunMessage('Started Play ' + play.sid + '.');
    rememberPlay(play);
    showOverlay(play.sid, 'push', { play: play, descendants: [], ancestors: [] });
  }, function (err) {
    const field = err.data && err.data.field ? String(err.data.field) : '';
    const shown = field.indexOf('inputs.') === 0 && setFieldError(field.slice(7).split(/[.[]/)[0], err.message + (err.data.hint ? ' (' + err.data.hint + ')' : ''));
    setRunMessage(shown ? 'The daemon refused an input; see the marked field.' : 'Could not start: ' + errorText(err), true);
  }).then(function () { runButton.disabled = false; });
}

function runOnEnter(event) {
  if (event.key !== 'Enter' || event.isComposing) return;
  const target = event.target;
  if (target.closest && target.closest('.menu')) return;
  if (event.ctrlKey || event.metaKey) { event.preventDefault(); runForm.requestSubmit(runButton); return; }
  const tag = target.tagName;
  // Enter in a field runs, as in any form; in a text area it stays a new line.
  if (tag === 'SELECT' || (tag === 'INPUT' && target.type === 'checkbox')) {
    event.preventDefault();
    runForm.requestSubmit(runButton);
  }
}

function renderRunMessage(state) {
  const msg = byId('run-msg');
  msg.textContent = state.runMessage.text;
  msg.className = 'run-msg' + (state.runMessage.error ? ' error' : '');
}

// A picked version brings its own inputs; values of fields it shares with the last one stay.
function showViewedVersion(state) {
  const version = state.viewed.version;
  fillInputs(readInputs().values, version.inputs);
  runButton.textContent = version === page.currentVersion ? '▶ Run' : '▶ Run ' + version.label;
}

// An overlaid Play read from the daemon fills the form with the inputs it ran with, once.
let filledFor = 0;
function fillFromOverlay(state) {
  const overlay = state.overlay;
  if (!overlay.fetched || !overlay.root || filledFor === overlay.load) return;
  filledFor = overlay.load;
  fillInputs(overlay.root.input_data || {});
}

// ---------------------------------------------------------------- menus: examples, plays

function closeMenus(except) {
  [examplesMenu, playsMenu].forEach(function (menu) { if (menu !== except) menu.open = false; });
}

function setupMenus() {
  [examplesMenu, playsMenu].forEach(function (menu) {
    menu.addEventListener('toggle', function () { if (menu.open) closeMenus(menu); });
    menu.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && menu.open) { menu.open = false; menu.querySelector('summary').focus(); }
    });
  });
  document.addEventListener('click', function (event) {
    if (!event.target.closest || !event.target.closest('.menu')) closeMenus(null);
  });
}

function exampleButton(example) {
  const keys = Object.keys(example.input_values || {});
  return el('button', {
    type: 'button', class: 'menu-item', 'data-example': example.name,
    onclick: function () {
      fillInputs(example.input_values || {});
      examplesMenu.open = false;
      setRunMessage('Filled from example “' + example.name + '”.');
      const first = fieldsBox.querySelector('input, select, textarea');
      if (first) first.focus();
    }
  }, [el('span', { class: 'mi-main' }, [
    el('span', { class: 'mi-title', text: example.name }),
    el('span', { class: 'mi-sub', text: example.description || keys.map(function (k) { return k + '=' + JSON.stringify(example.input_values[k]); }).join(', ') || 'no inputs' })
  ])]);
}

function renderExamples(state) {
  const examples = state.examples;
  const pop = clear(byId('examples-pop'));
  byId('examples-count').textContent = examples.length ? '(' + examples.length + ')' : '';
  if (!examples.length) pop.appendChild(el('p', { class: 'menu-empty', text: 'No saved examples yet.' }));
  examples.forEach(function (example) { pop.appendChild(exampleButton(example)); });
  pop.appendChild(el('hr', { class: 'menu-sep' }));
  pop.appendChild(el('p', { class: 'menu-label', text: 'Save current inputs as an example' }));
  const nameInput = el('input', { type: 'text', id: 'example-name', placeholder: 'Example name', 'aria-label': 'Example name', autocomplete: 'off' });
  const error = el('p', { class: 'menu-error', role: 'alert', hidden: true });
  const save = el('button', { type: 'button', class: 'btn btn-small btn-primary', id: 'save-example', text: 'Save current as example' });
  function doSave() {
    const name = nameInput.value.trim();
    error.hidden = true;
    if (!name) { error.textContent = 'Give the example a name.'; error.hidden = false; nameInput.focus(); return; }
    const read = readInputs();
    if (read.errors.length) {
      showInputErrors(read.errors);
      error.textContent = 'Fix the marked inputs first.'; error.hidden = false;
      return;
    }
    save.disabled = true;
    rpc('LogicService.logic_example_create', { logic: page.logic.sid, name: name, input_values: read.values }).then(function (example) {
      const others = store.get().examples.filter(function (e) { return e.sid !== example.sid; });
      store.set({ examples: others.concat([example]) });
      setRunMessage('Saved example “' + example.name + '”.');
      examplesMenu.open = false;
    }, function (err) {
      save.disabled = false;
      error.textContent = errorText(err); error.hidden = false;
    });
  }
  save.addEventListener('click', doSave);
  nameInput.addEventListener('keydown', function (event) {
    if (event.key === 'Enter') { event.preventDefault(); event.stopPropagation(); doSave(); }
  });
  pop.appendChild(el('div', { class: 'save-example' }, [nameInput, save]));
  pop.appendChild(error);
}

function playButton(play, overlaySid) {
  return el('button', {
    type: 'button', class: 'menu-item status-' + shownStatus(play) + (play.sid === overlaySid ? ' selected' : ''),
    'data-play': play.sid, 'aria-label': 'Play ' + play.sid + ', ' + statusLabel(shownStatus(play)) + ', ' + relTime(play.created_at),
    onclick: function () { playsMenu.open = false; showOverlay(play.sid, 'push'); }
  }, [
    dot(),
    el('span', { class: 'mi-main' }, [
      el('span', { class: 'mi-title' }, [el('code', { text: play.sid }), ' ', el('span', { class: 'muted', text: statusLabel(shownStatus(play)) })]),
      el('span', { class: 'mi-sub', text: relTime(play.created_at) + (play.parent_play_sid ? ' · inside Play ' + play.parent_play_sid : '') })
    ]),
    el('span', { class: 'mi-right', text: isTerminal(play.status) ? fmtDuration(play.duration_ms) : '' })
  ]);
}

// Drawn again when the list changes or another Play is overlaid (its entry is marked).
let playsDrawnFor = null;
function renderPlays(state, changed) {
  if (changed && changed.indexOf('plays') < 0 && playsDrawnFor === state.overlay.sid) return;
  playsDrawnFor = state.overlay.sid;
  const pop = clear(byId('plays-pop'));
  // Every Play of this Logic, child Plays included (marked "inside Play …"): the count is the
  // dashboard's "runs" (its last 50), the list their 25 newest.
  const shown = state.plays.slice(0, 25);
  byId('plays-count').textContent = state.plays.length ? '(' + (state.plays.length >= 50 ? '50+' : state.plays.length) + ')' : '';
  if (!shown.length) { pop.appendChild(el('p', { class: 'menu-empty', text: 'No Plays yet. Run it.' })); return; }
  pop.appendChild(el('p', { class: 'menu-label', text: 'Recent Plays — click to overlay' }));
  shown.forEach(function (play) { pop.appendChild(playButton(play, state.overlay.sid)); });
}

export function mountPlaybar() {
  runForm.addEventListener('submit', startRun);
  runForm.addEventListener('keydown', runOnEnter);
  setupMenus();
  store.subscribe(['viewed'], showViewedVersion);
  store.subscribe(['runMessage'], renderRunMessage);
  store.subscribe(['examples'], renderExamples);
  store.subscribe(['plays', 'overlay'], renderPlays);
  store.subscribe(['overlay'], fillFromOverlay);
  const state = store.get();
  renderInputs(state.viewed.version.inputs);
  renderExamples(state);
  renderPlays(state);
}
