// The stats sidebar: the overlaid Play's card (status, duration, tokens, cost, attempts,
// Cancel run) and the viewed version's stats with a chart of recent durations.
// Slices: stats, overlay.

import { errorText, rpc } from './api.js';
import { byId, clear, dot, durationNode, el, statusPill, svgEl } from './dom.js';
import { clock, fmtCost, fmtDuration, fmtInt, fullTime, isTerminal, logicHref, percent, relTime, shownStatus, statusLabel } from './format.js';
import { refreshSideData, setOverlayNote, showOverlay } from './actions.js';
import { page, store } from './state.js';

function kpi(label, value) { return el('div', {}, [el('dt', { text: label }), el('dd', { text: value })]); }

function chart(recent) {
  const runs = (recent || []).slice(0, 50).reverse();   // oldest first, newest at the right
  const width = 260, height = 84, gap = 2;
  const svg = svgEl('svg', { viewBox: '0 0 ' + width + ' ' + height, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'Durations of the last ' + runs.length + ' Plays, coloured by status' });
  if (!runs.length) return svg;
  const max = Math.max.apply(null, runs.map(function (r) { return r.duration_ms || 0; })) || 1;
  const slot = width / Math.max(runs.length, 12);
  runs.forEach(function (r, i) {
    const h = Math.max(3, Math.round(((r.duration_ms || 0) / max) * (height - 8)));
    const rect = svgEl('rect', {
      x: (i * slot + gap / 2).toFixed(2), y: height - h, width: Math.max(1, slot - gap).toFixed(2), height: h, rx: 1.5,
      fill: 'var(--st-' + r.status + ', #98a2b3)', 'class': 'bar status-' + r.status
    });
    const title = svgEl('title', {});
    title.textContent = 'Play ' + r.play_sid + ' · ' + statusLabel(r.status) + ' · ' + fmtDuration(r.duration_ms) + ' · ' + relTime(r.created_at);
    rect.appendChild(title);
    svg.appendChild(rect);
  });
  return svg;
}

function versionCard(s, viewed) {
  const card = el('section', { class: 'stat-card', 'aria-labelledby': 'h-version-stats' });
  const refresh = el('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Refresh stats', title: 'Refresh stats', text: '↻',
    onclick: function () { refresh.disabled = true; refreshSideData(); } });
  card.appendChild(el('div', { class: 'card-head' }, [
    el('h2', { id: 'h-version-stats' }, ['Version', el('span', { class: 'plain', text: (s && s.version_label) || viewed.label || '' })]),
    refresh
  ]));
  if (!s) { card.appendChild(el('p', { class: 'muted small', text: 'Stats are not available right now.' })); return card; }
  if (!s.runs) {
    card.appendChild(el('p', { class: 'muted small', text: 'No runs of this version yet. Run it to see its success rate, durations and cost here.' }));
    return card;
  }
  card.appendChild(el('dl', { class: 'kpis' }, [
    kpi('Runs', fmtInt(s.runs)),
    kpi('Success', percent(s.success_rate)),
    kpi('p50', fmtDuration(s.p50_duration_ms)),
    kpi('p95', fmtDuration(s.p95_duration_ms)),
    kpi('Avg cost', fmtCost(s.avg_cost_usd)),
    kpi('Max', fmtDuration(s.max_duration_ms))
  ]));
  card.appendChild(el('figure', { class: 'chart' }, [
    chart(s.recent),
    el('figcaption', {}, [el('span', { text: 'Recent durations' }), el('span', { text: 'newest →' })])
  ]));
  const counts = s.status_counts || {};
  card.appendChild(el('ul', { class: 'legend', 'aria-label': 'Plays by status' }, Object.keys(counts).map(function (status) {
    return el('li', { class: 'status-' + status }, [dot(), counts[status] + ' ' + statusLabel(status)]);
  })));
  card.appendChild(el('p', { class: 'muted small' }, ['Last ' + s.runs + ' of at most ' + s.last_n + ' Plays · latest ' + relTime(s.latest_run_at)]));
  return card;
}

function attempts(root, descendants) {
  const counts = {};
  descendants.forEach(function (p) { if (p.parent_play_sid === root.sid) counts[p.name] = (counts[p.name] || 0) + 1; });
  const loops = Object.keys(counts).filter(function (name) { return counts[name] > 1; });
  return loops.length ? loops.map(function (name) { return name + ' × ' + counts[name]; }).join(', ') : '1';
}

function cancelButton(root) {
  const cancel = el('button', { type: 'button', class: 'btn btn-danger', id: 'cancel-play', text: 'Cancel run',
    onclick: function () {
      cancel.disabled = true;
      rpc('LogicService.play_cancel', { play_sid: root.sid }).then(function () {}, function (err) {
        cancel.disabled = false;
        setOverlayNote('Cancel failed: ' + errorText(err));
      });
    } });
  return cancel;
}

function playCard(overlay) {
  const root = overlay.root;
  const card = el('section', { class: 'stat-card', 'aria-labelledby': 'h-play-stats' });
  card.appendChild(el('div', { class: 'card-head' }, [
    el('h2', { id: 'h-play-stats' }, ['Play', el('span', { class: 'plain', text: root.sid })]),
    el('a', { class: 'btn btn-small', href: logicHref(page.logic.sid, ''), id: 'close-overlay', 'aria-label': 'Close the overlay',
      onclick: function (event) { event.preventDefault(); showOverlay('', 'push'); } }, ['✕ Close'])
  ]));
  card.appendChild(statusPill(shownStatus(root)));
  const version = page.versionsBySid[root.logic_version_sid];
  const subtree = root.subtree || {};
  const facts = el('dl', { class: 'facts' });
  function fact(label, value) { facts.appendChild(el('dt', { text: label })); facts.appendChild(el('dd', {}, [value])); }
  fact('Duration', durationNode(root, ''));
  fact('Started', root.started_at ? el('time', { title: fullTime(root.started_at), text: clock(root.started_at) + ' · ' + relTime(root.started_at) }) : 'not yet');
  if (root.completed_at) fact('Finished', el('time', { title: fullTime(root.completed_at), text: clock(root.completed_at) }));
  fact('Version', version ? version.label + (version.current ? ' (current)' : '') : root.logic_version_sid);
  fact('Sub-Plays', fmtInt(subtree.descendants != null ? subtree.descendants : overlay.descendants.length));
  fact('Attempts', attempts(root, overlay.descendants));
  fact('Tokens', fmtInt(root.total_tokens_prompt) + ' + ' + fmtInt(root.total_tokens_completion) + ' own');
  fact('with sub-Plays', fmtInt(subtree.tokens_prompt) + ' + ' + fmtInt(subtree.tokens_completion));
  fact('Cost', fmtCost(root.total_cost_usd) + ' own · ' + fmtCost(subtree.cost_usd) + ' total');
  if (root.replayed) fact('Replayed', 'yes: output from the recorded step');
  if (root.parent_play_sid) {
    const parentLogic = overlay.ancestors.length ? overlay.ancestors[overlay.ancestors.length - 1].logic_sid : page.logic.sid;
    fact('Parent', el('a', { href: logicHref(parentLogic, root.parent_play_sid), text: 'Play ' + root.parent_play_sid }));
  }
  card.appendChild(facts);
  if (!isTerminal(root.status)) card.appendChild(el('div', { class: 'stat-actions' }, [cancelButton(root)]));
  return card;
}

function renderStats(state) {
  if (state.overlay.phase === 'loading') return;
  const box = clear(byId('stats'));
  if (state.overlay.root) box.appendChild(playCard(state.overlay));
  box.appendChild(versionCard(state.stats.data, state.viewed.version));
}

export function mountStats() {
  store.subscribe(['stats', 'overlay'], renderStats);
  renderStats(store.get());
}
