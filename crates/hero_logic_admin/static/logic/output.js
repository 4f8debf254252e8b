// The output column: one card per declared output of the overlaid Play's version (raw JSON
// when none is declared), errors with the traceback folded. Idle, the outputs the viewed
// version declares. Slices: overlay, viewed.

import { byId, clear, el } from './dom.js';
import { isTerminal, splitError } from './format.js';
import { page, store } from './state.js';

function isScalar(v) { return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'; }

function scalarText(v) { return typeof v === 'string' ? v : JSON.stringify(v); }

function isFlatRow(row) {
  return row && typeof row === 'object' && !Array.isArray(row) && Object.keys(row).every(function (k) { return isScalar(row[k]); });
}

function tableNode(rows) {
  const columns = [];
  rows.forEach(function (row) { Object.keys(row).forEach(function (k) { if (columns.indexOf(k) < 0) columns.push(k); }); });
  if (columns.length > 6) return null;
  return el('div', { class: 'out-value out-table' }, [el('table', {}, [
    el('thead', {}, [el('tr', {}, columns.map(function (c) { return el('th', { scope: 'col', text: c }); }))]),
    el('tbody', {}, rows.map(function (row) {
      return el('tr', {}, columns.map(function (c) {
        return el('td', { class: typeof row[c] === 'number' ? 'num' : '', text: row[c] === undefined ? '' : scalarText(row[c]) });
      }));
    }))
  ])]);
}

// Small, flat shapes read better as a list or a table than as JSON (the card keeps the
// value as JSON in its data-json attribute).
function valueNode(value) {
  if (typeof value === 'string') return el('div', { class: 'out-value', text: value });
  if (isScalar(value)) return el('div', { class: 'out-value out-scalar', text: JSON.stringify(value) });
  const smallList = Array.isArray(value) && value.length && value.length <= 50;
  if (smallList && value.every(isScalar)) {
    return el('ul', { class: 'out-value out-list' }, value.map(function (v) { return el('li', { text: scalarText(v) }); }));
  }
  if (smallList && value.every(isFlatRow)) {
    const table = tableNode(value);
    if (table) return table;
  }
  if (value && !Array.isArray(value) && Object.keys(value).length && Object.keys(value).length <= 12 &&
      Object.keys(value).every(function (k) { return isScalar(value[k]); })) {
    const dl = el('dl', { class: 'out-value out-dict' });
    Object.keys(value).forEach(function (k) {
      dl.appendChild(el('dt', { text: k }));
      dl.appendChild(el('dd', { text: scalarText(value[k]) }));
    });
    return dl;
  }
  return el('pre', { class: 'out-value out-json', text: JSON.stringify(value, null, 2) });
}

function idle(box, declared) {
  const node = el('div', { class: 'output-empty' }, [
    declared.length ? 'Run it to see ' + (declared.length === 1 ? 'its output' : 'its ' + declared.length + ' outputs') + ' here:' : 'Run it to see its output here.'
  ]);
  if (declared.length) {
    node.appendChild(el('ul', {}, declared.map(function (f) {
      return el('li', {}, [el('code', { class: 'fname', text: f.name }), ' ', el('span', { class: 'ftype', text: f.field_type })]);
    })));
  }
  box.appendChild(node);
}

function errorCard(root) {
  if (root.error_message && (root.status === 'failed' || root.status === 'timed_out' || root.status === 'cancelled')) {
    const parts = splitError(root.error_message);
    const title = root.status === 'timed_out' ? 'Timed out' : root.status === 'cancelled' ? 'Cancelled' : 'Failed';
    return el('div', { class: 'error-card status-' + root.status, role: 'alert' }, [
      el('p', { class: 'error-title', text: title }),
      el('p', { class: 'error-message', text: parts.message }),
      parts.traceback ? el('details', {}, [el('summary', { text: 'Traceback' }), el('pre', { text: parts.traceback })]) : null
    ]);
  }
  if (root.status === 'cancelled') return el('div', { class: 'error-card status-cancelled' }, [el('p', { class: 'error-title', text: 'Cancelled' })]);
  return null;
}

function card(name, attrs, head, value) {
  return el('section', Object.assign({ class: 'out-card', 'data-output': name, 'aria-label': 'Output ' + name }, attrs), [el('div', { class: 'out-head' }, head), value]);
}

function renderOutput(state) {
  const box = clear(byId('output'));
  const meta = clear(byId('output-meta'));
  const overlay = state.overlay;
  if (overlay.phase === 'loading') return;
  const root = overlay.root;
  const version = root ? (page.versionsBySid[root.logic_version_sid] || page.currentVersion) : state.viewed.version;
  const declared = version.outputs || [];
  if (!root) { idle(box, declared); return; }
  if (version !== page.currentVersion && version.label) meta.textContent = 'version ' + version.label;
  const failure = errorCard(root);
  if (failure) box.appendChild(failure);
  const data = root.output_data || {};
  const keys = Object.keys(data);
  const finished = isTerminal(root.status);
  if (!declared.length) {
    if (keys.length) box.appendChild(el('pre', { class: 'out-raw', 'aria-label': 'Output JSON', text: JSON.stringify(data, null, 2) }));
    else if (!finished) box.appendChild(el('p', { class: 'output-empty', text: root.status === 'awaiting_resume' ? 'Waiting for an answer (see the trace).' : 'Waiting for output…' }));
    else if (root.status === 'success') box.appendChild(el('p', { class: 'output-empty', text: 'No output.' }));
    return;
  }
  if ((root.status === 'failed' || root.status === 'timed_out') && !keys.length) return;
  const seen = {};
  declared.forEach(function (field) {
    seen[field.name] = true;
    const has = Object.prototype.hasOwnProperty.call(data, field.name);
    box.appendChild(card(field.name, { 'data-json': has ? JSON.stringify(data[field.name]) : null }, [
      el('code', { class: 'fname', text: field.name }),
      el('span', { class: 'ftype', text: field.field_type }),
      field.description ? el('span', { class: 'out-desc', title: field.description, text: field.description }) : null
    ], has ? valueNode(data[field.name]) : el('div', { class: 'out-value out-missing', text: finished ? 'not produced' : 'waiting…' })));
  });
  keys.forEach(function (key) {
    if (seen[key]) return;
    box.appendChild(card(key, { 'data-json': JSON.stringify(data[key]) },
      [el('code', { class: 'fname', text: key }), el('span', { class: 'out-desc', text: 'not declared' })], valueNode(data[key])));
  });
}

export function mountOutput() {
  store.subscribe(['overlay', 'viewed'], renderOutput);
  renderOutput(store.get());
}
