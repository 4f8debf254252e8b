// The mapping editor of the Code tab: a bound version (§8) runs another Logic with mapped
// inputs and outputs. Picking the target fills identity rows from logic_binding_identity;
// each row is `target ← source`; a row the daemon refuses shows its message. A bound version
// opens here with its own rows. Slice: code (the mode and the version shown).

import { rpc, versionRecord } from './api.js';
import { byId, clear, el } from './dom.js';
import { isBound, page, store } from './state.js';

const mapping = { target: '', identity: null, rows: { input: [], output: [] }, targets: null };

function showError(err) { store.set({ codeError: err }); }

function addTargetOption(select, name) {
  if (!select.querySelector('option[value="' + CSS.escape(name) + '"]')) select.appendChild(el('option', { value: name, text: name }));
}

function loadTargets() {
  if (mapping.targets) return mapping.targets;
  mapping.targets = rpc('logic.find', { limit: 500 }).then(function (found) {
    const select = byId('map-target');
    const names = (found.items || []).filter(function (l) { return l.sid !== page.logic.sid; })
      .map(function (l) { return l.name; }).sort();
    names.forEach(function (name) { addTargetOption(select, name); });
    if (mapping.target) select.value = mapping.target;
    return names;
  }, function (err) { mapping.targets = null; showError(err); });
  return mapping.targets;
}

function identityOf(kind) {
  return ((mapping.identity && mapping.identity[kind + '_mappings']) || []).map(function (m) { return { target: m.target, source: m.source }; });
}

function merge(rows, saved) {
  (saved || []).forEach(function (m) {
    const row = rows.filter(function (r) { return r.target === m.target; })[0];
    if (row) row.source = m.source; else rows.push({ target: m.target, source: m.source });
  });
  return rows;
}

// Picks a target: identity rows, then (when given) the saved rows over them.
function pickTarget(target, saved) {
  mapping.target = target;
  byId('map-target').value = target;
  byId('map-reset').disabled = !target;
  if (!target) { mapping.identity = null; mapping.rows = { input: [], output: [] }; renderMapping(); return Promise.resolve(); }
  return rpc('LogicService.logic_binding_identity', { target: target }).then(function (identity) {
    if (mapping.target !== target) return;
    mapping.identity = identity;
    mapping.rows = { input: merge(identityOf('input'), saved && saved.input_mappings), output: merge(identityOf('output'), saved && saved.output_mappings) };
    renderMapping();
  }, showError);
}

function identitySource(kind, target) {
  const row = identityOf(kind).filter(function (r) { return r.target === target; })[0];
  return row ? row.source : null;
}

function mappingRow(kind, row, i) {
  const input = el('input', {
    type: 'text', class: 'map-source', list: 'map-sources-' + kind, value: row.source, spellcheck: 'false',
    'aria-label': 'Source of ' + row.target, autocomplete: 'off'
  });
  const tr = el('tr', { class: 'map-row', 'data-kind': kind, 'data-index': i, 'data-target': row.target }, [
    el('th', { scope: 'row' }, [el('code', { text: row.target })]),
    el('td', { class: 'map-arrow', 'aria-hidden': 'true', text: '←' }),
    el('td', {}, [input, el('div', { class: 'map-err', role: 'alert' })])
  ]);
  function mark() {
    row.source = input.value;
    const same = identitySource(kind, row.target) === row.source;
    tr.classList.toggle('map-identity', same);
    tr.classList.toggle('map-changed', !same);
  }
  input.addEventListener('input', function () { tr.classList.remove('map-invalid'); tr.querySelector('.map-err').textContent = ''; mark(); });
  mark();
  return tr;
}

function renderMapping() {
  ['input', 'output'].forEach(function (kind) {
    const list = clear(byId('map-sources-' + kind));
    const options = [];
    if (kind === 'output') identityOf('output').forEach(function (r) { options.push(r.source); });
    identityOf('input').forEach(function (r) { options.push(r.source); });
    options.push('literal:', 'literal_json:');
    options.forEach(function (o) { list.appendChild(el('option', { value: o })); });
    const body = clear(byId(kind === 'input' ? 'map-inputs' : 'map-outputs').tBodies[0]);
    if (!mapping.target) { body.appendChild(el('tr', {}, [el('td', { class: 'muted small', text: 'Pick a target Logic first.' })])); return; }
    if (!mapping.rows[kind].length) body.appendChild(el('tr', {}, [el('td', { class: 'muted small', text: 'None declared.' })]));
    mapping.rows[kind].forEach(function (row, i) { body.appendChild(mappingRow(kind, row, i)); });
  });
}

// Marks the row a refusal names (`binding.input_mappings[2]...`); false when it names none.
export function showMappingError(err) {
  const field = (err && err.data && err.data.field) || '';
  const m = /binding\.(input|output)_mappings\[(\d+)\]/.exec(field);
  if (!m) return false;
  const tr = document.querySelector('.map-row[data-kind="' + m[1] + '"][data-index="' + m[2] + '"]');
  if (!tr) return false;
  tr.classList.add('map-invalid');
  tr.querySelector('.map-err').textContent = err.message || 'not valid';
  tr.querySelector('input').focus();
  return true;
}

export function mappingTarget() { return mapping.target; }

export function bindingParams() {
  return { target: mapping.target, input_mappings: mapping.rows.input.slice(), output_mappings: mapping.rows.output.slice() };
}

// A bound version opens in the mapping editor with its own rows.
function openBinding(versionSid) {
  versionRecord(versionSid).then(function (record) {
    if (!record.binding) return;
    const target = record.binding.target;
    loadTargets();
    addTargetOption(byId('map-target'), target);
    pickTarget(target, record.binding);
  }, function () {});
}

let shownVersion = null;
function renderMode(state) {
  const code = state.code;
  byId('mapping').hidden = code.mode !== 'mapping';
  if (code.mode === 'mapping') loadTargets();
  if (code.versionSid !== shownVersion) {
    shownVersion = code.versionSid;
    if (isBound(page.versionsBySid[code.versionSid])) openBinding(code.versionSid);
  }
}

export function mountMapping() {
  byId('map-target').addEventListener('change', function () { pickTarget(byId('map-target').value, null); });
  byId('map-reset').addEventListener('click', function () {
    mapping.rows = { input: identityOf('input'), output: identityOf('output') };
    renderMapping();
  });
  renderMapping();
  store.subscribe(['code'], renderMode);
  renderMode(store.get());
}
