// What the Play tree shows beyond its nodes: a timeline (Gantt) bar per node from its
// started_at/completed_at, live while the Play runs; folding a node's children; and each
// failure said once — the root cause at the failing leaf, "failed in child X" above it.
// It decorates the tree the tree module draws (watched), so that module stays as it is.

import { byId, el } from './dom.js';
import { fmtDuration, isTerminal } from './format.js';
import { allPlays, store } from './state.js';

const TICK_MS = 500;
// Folded nodes by sid, kept across the tree's live redraws.
const folded = new Set();

function span(plays, now) {
  let start = Infinity;
  let end = 0;
  plays.forEach(function (p) {
    if (!p.started_at) return;
    start = Math.min(start, p.started_at);
    end = Math.max(end, p.completed_at || now);
  });
  return start === Infinity ? null : { start: start, end: Math.max(end, start + 1) };
}

function barFor(play, range, now) {
  const cell = el('span', { class: 'gantt-cell', 'aria-hidden': 'true' });
  if (!play || !play.started_at || !range) return cell;
  const total = range.end - range.start;
  const end = play.completed_at || now;
  const left = ((play.started_at - range.start) / total) * 100;
  const width = Math.max(((end - play.started_at) / total) * 100, 0.6);
  const bar = el('span', {
    class: 'gantt-bar status-' + play.status + (play.completed_at ? '' : ' gantt-live'),
    title: play.name + ': +' + fmtDuration(play.started_at - range.start) + ', ' + fmtDuration(end - play.started_at)
  });
  bar.style.left = left.toFixed(2) + '%';
  bar.style.width = Math.min(width, 100 - left).toFixed(2) + '%';
  cell.appendChild(bar);
  return cell;
}

function drawTimeline(panel, overlay) {
  const now = Date.now();
  const bySid = {};
  const plays = allPlays(overlay);
  plays.forEach(function (p) { bySid[p.sid] = p; });
  const range = span(plays, now);
  panel.querySelectorAll('li.node').forEach(function (li) {
    const row = li.querySelector(':scope > .node-row');
    if (!row) return;
    const old = row.querySelector(':scope > .gantt-cell');
    const cell = barFor(bySid[li.dataset.play], range, now);
    if (old) old.replaceWith(cell); else row.appendChild(cell);
  });
  const card = panel.querySelector('.tree-card');
  if (!card || !range) return;
  let axis = card.querySelector(':scope > .gantt-axis');
  if (!axis) {
    axis = el('div', { class: 'gantt-axis', id: 'gantt-axis' });
    card.prepend(axis);
  }
  axis.textContent = 'Timeline · ' + fmtDuration(range.end - range.start) + (overlay.root && !isTerminal(overlay.root.status) ? ' so far' : '');
}

function addFolding(panel) {
  panel.querySelectorAll('li.node').forEach(function (li) {
    const kids = li.querySelector(':scope > ul');
    const row = li.querySelector(':scope > .node-row');
    if (!kids || !row || row.querySelector(':scope > .node-fold')) return;
    const sid = li.dataset.play;
    const button = el('button', { type: 'button', class: 'node-fold' });
    function show() {
      const isFolded = folded.has(sid);
      li.classList.toggle('node-folded', isFolded);
      button.textContent = isFolded ? '▸' : '▾';
      const count = kids.children.length;
      button.setAttribute('aria-label', (isFolded ? 'Show ' : 'Hide ') + count + ' sub-Play' + (count === 1 ? '' : 's'));
      button.setAttribute('aria-expanded', String(!isFolded));
    }
    button.addEventListener('click', function () {
      if (folded.has(sid)) folded.delete(sid); else folded.add(sid);
      show();
    });
    row.prepend(button);
    show();
  });
}

// A failure shows its message at the Play that raised it; a parent that failed because a
// child did names that child instead of repeating the same chain.
function sayFailuresOnce(panel) {
  panel.querySelectorAll('li.node').forEach(function (li) {
    const error = li.querySelector(':scope > .node-error');
    if (!error || error.classList.contains('node-error-chain')) return;
    const failedChild = Array.from(li.querySelectorAll(':scope > ul > li.node')).find(function (kid) {
      return !!kid.querySelector(':scope > .node-error');
    });
    if (!failedChild) return;
    const name = failedChild.querySelector(':scope > .node-row .node-name');
    error.textContent = 'failed in child ' + (name ? name.textContent : '') + ' (' + failedChild.dataset.play + ')';
    error.classList.add('node-error-chain');
  });
}

function decorate(panel) {
  const overlay = store.get().overlay;
  if (!overlay.root || !panel.querySelector('.tree')) return;
  addFolding(panel);
  sayFailuresOnce(panel);
  drawTimeline(panel, overlay);
}

export function mountTreeExtras() {
  const panel = byId('panel-tree');
  if (!panel) return;
  let busy = false;
  const observer = new MutationObserver(function () {
    if (busy) return;
    busy = true;
    decorate(panel);
    observer.takeRecords();
    busy = false;
  });
  observer.observe(panel, { childList: true, subtree: true });
  // Running bars grow with the clock, not only when the tree changes.
  setInterval(function () {
    const root = store.get().overlay.root;
    if (!root || isTerminal(root.status) || panel.hidden) return;
    busy = true;
    drawTimeline(panel, store.get().overlay);
    observer.takeRecords();
    busy = false;
  }, TICK_MS);
  decorate(panel);
}
