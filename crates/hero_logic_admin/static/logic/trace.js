// The live trace: one row per Play started or finished, its logs and its questions, nested
// by depth, in time order. Slice: overlay.

import { byId, clear, dot, durationNode, el, pauseIcon } from './dom.js';
import { clock, fmtDuration, fullTime, isTerminal, shownStatus, splitError, statusLabel } from './format.js';
import { allPlays, store } from './state.js';

const MAX_TRACE_ROWS = 400;
// Questions seen on this page, "play sid|resume id" -> request: the daemon keeps only the
// answer once a question is answered, and the answered row shows the prompt when it is known.
const asked = {};
const LOG_LINE = /^\[(\d{4}-\d\d-\d\dT[^\]]+)\]\s?(.*)$/;

function depthMap(overlay) {
  const depth = {};
  const bySid = {};
  const plays = allPlays(overlay);
  plays.forEach(function (p) { bySid[p.sid] = p; });
  function of(p) {
    if (depth[p.sid] !== undefined) return depth[p.sid];
    const parent = p === overlay.root ? null : bySid[p.parent_play_sid];
    depth[p.sid] = 0;
    depth[p.sid] = parent ? of(parent) + 1 : 0;
    return depth[p.sid];
  }
  plays.forEach(of);
  return depth;
}

function traceRows(overlay) {
  const rows = [];
  const depth = depthMap(overlay);
  allPlays(overlay).forEach(function (p) {
    const d = depth[p.sid] || 0;
    const start = p.started_at || p.created_at;
    rows.push({ t: start, kind: 'start', play: p, depth: d });
    let lastT = start;
    (p.logs || '').split('\n').forEach(function (line) {
      if (!line) return;
      const m = LOG_LINE.exec(line);
      const t = m ? Date.parse(m[1]) : NaN;
      if (isFinite(t)) lastT = t;
      rows.push({ t: lastT, kind: 'log', play: p, depth: d, text: m ? m[2] : line });
    });
    (p.pending_resumes || []).forEach(function (r) {
      asked[p.sid + '|' + r.id] = r;
      rows.push({ t: r.asked_at || lastT, kind: 'ask', play: p, depth: d, text: (r.ui && r.ui.prompt) || r.name || r.id });
    });
    Object.keys(p.received_resumes || {}).forEach(function (id) {
      const request = asked[p.sid + '|' + id];
      rows.push({ t: (request && request.asked_at) || lastT, kind: 'answer', play: p, depth: d, text: answeredText(request, id, p.received_resumes[id]) });
    });
    if (isTerminal(p.status)) rows.push({ t: p.completed_at || lastT, kind: 'end', play: p, depth: d });
  });
  rows.forEach(function (r, i) { r.i = i; });
  rows.sort(function (a, b) { return (a.t - b.t) || (a.i - b.i); });
  return rows;
}

function answeredText(request, id, answer) {
  const shown = typeof answer === 'string' ? answer : JSON.stringify(answer);
  const kind = request && request.ui && request.ui.kind;
  if (kind === 'timer') return 'woke from its sleep';
  const question = (request && request.ui && request.ui.prompt) || (request && request.name) || id;
  return question + ' — answered: ' + shown;
}

function rowNode(row) {
  const p = row.play;
  const status = row.kind === 'start' || row.kind === 'answer' ? 'running' : shownStatus(p);
  let what;
  if (row.kind === 'start') what = p.replayed ? 'replayed' : 'started';
  else if (row.kind === 'end') what = statusLabel(shownStatus(p)) + (p.status !== 'success' && p.error_message ? ': ' + splitError(p.error_message).message : '');
  else if (row.kind === 'ask') what = 'asks: ' + row.text;
  else if (row.kind === 'answer') what = row.text;
  else what = row.text;
  const li = el('li', { class: 'tr tr-' + row.kind + ' status-' + status }, [
    el('span', { class: 'tr-time', title: fullTime(row.t), text: clock(row.t) }),
    el('span', { class: 'tr-main' }, [
      row.kind === 'log' ? el('span', { class: 'dot dot-none', 'aria-hidden': 'true' }) : dot(),
      el('span', { class: 'tr-name', text: p.name }),
      el('span', { class: 'tr-what', title: what }, [row.kind === 'ask' || row.kind === 'answer' ? pauseIcon() : null, what])
    ]),
    el('span', { class: 'tr-dur', text: row.kind === 'end' ? fmtDuration(p.duration_ms) : '' })
  ]);
  li.style.setProperty('--depth', String(row.depth));
  return li;
}

function renderTrace(state) {
  const overlay = state.overlay;
  const list = byId('trace');
  const scroller = byId('trace-scroll');
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
  clear(list);
  const meta = clear(byId('trace-meta'));
  if (overlay.phase === 'loading') return;
  const root = overlay.root;
  if (!root) {
    list.appendChild(el('li', { class: 'trace-empty', text: 'The live trace of a run shows here: one row per Play started or finished, its logs and its questions.' }));
    return;
  }
  if (overlay.note) meta.textContent = overlay.note;
  else {
    meta.appendChild(el('span', { class: 'status status-' + shownStatus(root) }, [dot(), 'Play ' + root.sid + ' · ' + statusLabel(shownStatus(root))]));
    meta.appendChild(durationNode(root, 'muted'));
  }
  let rows = traceRows(overlay);
  if (rows.length > MAX_TRACE_ROWS) {
    list.appendChild(el('li', { class: 'trace-more', text: (rows.length - MAX_TRACE_ROWS) + ' earlier rows not shown; the Play tree has every Play.' }));
    rows = rows.slice(rows.length - MAX_TRACE_ROWS);
  }
  rows.forEach(function (row) { list.appendChild(rowNode(row)); });
  if (atBottom || !isTerminal(root.status)) scroller.scrollTop = scroller.scrollHeight;
}

export function mountTrace() {
  store.subscribe(['overlay'], renderTrace);
  renderTrace(store.get());
}
