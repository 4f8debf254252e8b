// The mapping editor of the Code tab: a bound version (§8) runs another Logic with mapped
// inputs and outputs. Picking the target fills identity rows from logic_binding_identity;
// each row is `target ← source`; rows can be added (a passthrough or derived output of its
// own), removed and moved; a row the daemon refuses shows its message, numbered from 1 as the
// rows are. A bound version opens here with its own rows. Slice: code (the mode and the
// version shown).

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

// A saved table as it was saved, in its order (a table that names no row passes everything
// through, as the identity rows do); a row whose target the identity has none for is the
// version's own.
function merge(rows, saved) {
  if (!saved || !saved.length) return rows;
  const known = {};
  rows.forEach(function (r) { known[r.target] = true; });
  return saved.map(function (m) { return { target: m.target, source: m.source, added: !known[m.target] }; });
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

// A target the identity rows name is fixed; a row added here names its own.
function targetCell(kind, row, i, tr) {
  if (!row.added) return el('th', { scope: 'row' }, [el('code', { text: row.target })]);
  const input = el('input', {
    type: 'text', class: 'map-target-input', value: row.target, spellcheck: 'false', autocomplete: 'off',
    placeholder: kind === 'input' ? 'input of the target' : 'output name', 'aria-label': 'Target of row ' + (i + 1)
  });
  input.addEventListener('input', function () {
    row.target = input.value.trim();
    tr.setAttribute('data-target', row.target);
    tr.classList.remove('map-invalid');
    tr.querySelector('.map-err').textContent = '';
  });
  return el('th', { scope: 'row' }, [input]);
}

// Moves, removes or adds a row of `kind`, then draws the tables again with the focus on `focus`.
function changeRows(kind, change, focus) {
  const rows = mapping.rows[kind];
  change(rows);
  renderMapping();
  const target = focus && document.querySelector(focus);
  if (target) target.focus();
}

function rowButtons(kind, i, count) {
  const at = '.map-row[data-kind="' + kind + '"][data-index="';
  function button(cls, text, label, disabled, onclick) {
    return el('button', { type: 'button', class: 'btn btn-small ' + cls, 'aria-label': label, title: label, disabled: disabled, onclick: onclick, text: text });
  }
  return el('td', { class: 'map-actions' }, [
    button('map-up', '↑', 'Move row ' + (i + 1) + ' up', i === 0, function () {
      changeRows(kind, function (rows) { rows.splice(i - 1, 0, rows.splice(i, 1)[0]); }, at + (i - 1) + '"] .map-up:not([disabled]), ' + at + (i - 1) + '"] .map-down');
    }),
    button('map-down', '↓', 'Move row ' + (i + 1) + ' down', i === count - 1, function () {
      changeRows(kind, function (rows) { rows.splice(i + 1, 0, rows.splice(i, 1)[0]); }, at + (i + 1) + '"] .map-down:not([disabled]), ' + at + (i + 1) + '"] .map-up');
    }),
    button('map-remove', '✕', 'Remove row ' + (i + 1), false, function () {
      changeRows(kind, function (rows) { rows.splice(i, 1); }, '#map-add-' + kind);
    })
  ]);
}

function mappingRow(kind, row, i, count) {
  const input = el('input', {
    type: 'text', class: 'map-source', list: 'map-sources-' + kind, value: row.source, spellcheck: 'false',
    'aria-label': 'Source of ' + (row.target || 'row ' + (i + 1)), autocomplete: 'off'
  });
  const tr = el('tr', { class: 'map-row', 'data-kind': kind, 'data-index': i, 'data-target': row.target });
  [
    el('td', { class: 'map-num muted small', text: String(i + 1) }),
    targetCell(kind, row, i, tr),
    el('td', { class: 'map-arrow', 'aria-hidden': 'true', text: '←' }),
    el('td', {}, [input, el('div', { class: 'map-err', role: 'alert' })]),
    rowButtons(kind, i, count)
  ].forEach(function (cell) { tr.appendChild(cell); });
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
    if (!mapping.rows[kind].length) body.appendChild(el('tr', {}, [el('td', { class: 'muted small', text: kind === 'input' ? 'No rows: the inputs pass through as they are.' : 'No rows: the target\'s outputs pass through as they are.' })]));
    const rows = mapping.rows[kind];
    rows.forEach(function (row, i) { body.appendChild(mappingRow(kind, row, i, rows.length)); });
    body.appendChild(el('tr', { class: 'map-add-row' }, [el('td', { colspan: '5' }, [
      el('button', { type: 'button', class: 'btn btn-small', id: 'map-add-' + kind, text: '+ Add ' + kind + ' row',
        onclick: function () {
          changeRows(kind, function (list) { list.push({ target: '', source: '', added: true }); },
            '.map-row[data-kind="' + kind + '"][data-index="' + rows.length + '"] .map-target-input');
        } })
    ])]));
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
  function plain(rows) { return rows.map(function (r) { return { target: r.target, source: r.source }; }); }
  return { target: mapping.target, input_mappings: plain(mapping.rows.input), output_mappings: plain(mapping.rows.output) };
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
