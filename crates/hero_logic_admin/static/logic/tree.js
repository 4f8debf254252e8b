// The Play tree and Logs tabs: the overlaid Play and its descendants, and its logs.
// Slices: overlay, plays (the "show the latest Play" button when nothing is overlaid).

import { errorText } from './api.js';
import { byId, clear, dot, durationNode, el, pauseIcon } from './dom.js';
import { fmtInt, logicHref, relTime, shownStatus, splitError, statusLabel } from './format.js';
import { showOverlay } from './actions.js';
import { allPlays, listedPlays, page, store } from './state.js';
import { forkButton, isTimer, sleepFlag } from './durable.js';

const MAX_TREE_NODES = 600;

// parent sid -> children in invocation order (the parent's sub_play_sids), then any child
// the parent's list does not name yet (a live tree mid-write). One pass over the tree.
function childrenIndex(overlay) {
  const byParent = {};
  overlay.descendants.forEach(function (p) {
    (byParent[p.parent_play_sid] = byParent[p.parent_play_sid] || []).push(p);
  });
  const index = {};
  allPlays(overlay).forEach(function (parent) {
    const kids = byParent[parent.sid] || [];
    if (!kids.length) { index[parent.sid] = kids; return; }
    const position = {};
    (parent.sub_play_sids || []).forEach(function (sid, i) { position[sid] = i; });
    const listed = kids.filter(function (k) { return position[k.sid] !== undefined; });
    listed.sort(function (a, b) { return position[a.sid] - position[b.sid]; });
    index[parent.sid] = listed.concat(kids.filter(function (k) { return position[k.sid] === undefined; }));
  });
  return index;
}

function emptyState(children, role) { return el('div', { class: 'empty-state', role: role }, children); }

function noOverlay(panel, plays) {
  const latest = listedPlays(plays)[0];
  panel.appendChild(emptyState([
    el('p', {}, [el('strong', { text: 'No Play overlaid.' })]),
    el('p', { text: 'Fill the inputs below and press ▶ Run, or open one of the recent Plays.' }),
    latest ? el('p', {}, [el('button', {
      type: 'button', class: 'btn', id: 'show-latest',
      onclick: function () { showOverlay(latest.sid, 'push'); }
    }, [dot(), 'Show the latest Play, ' + latest.sid + ' (' + statusLabel(latest.status) + ', ' + relTime(latest.created_at) + ')'])]) : null
  ]));
}

function nodeRow(play, isRoot) {
  const asks = (play.pending_resumes || []).filter(function (r) { return !isTimer(r); }).length;
  const answered = Object.keys(play.received_resumes || {});
  const nameNode = isRoot
    ? el('span', { class: 'node-name', text: play.name })
    : el('a', {
      class: 'node-name', href: logicHref(play.logic_sid, play.sid), title: 'Open ' + play.name + ' with this Play',
      onclick: function (event) {
        if (play.logic_sid === page.logic.sid && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
          event.preventDefault();
          showOverlay(play.sid, 'push');
        }
      }
    }, [play.name]);
  return el('div', { class: 'node-row status-' + shownStatus(play) }, [
    dot(),
    nameNode,
    el('span', { class: 'node-sid', text: play.sid }),
    play.replayed ? el('span', { class: 'node-flag replayed', title: 'Output came from the recorded step on replay', text: '↻ replayed' }) : null,
    sleepFlag(play),
    asks ? el('span', { class: 'node-flag asks' }, [pauseIcon(), 'asks ' + (asks === 1 ? '1 question' : asks + ' questions')]) : null,
    answered.length ? el('span', {
      class: 'node-flag answered',
      title: answered.map(function (id) { return id + ' = ' + JSON.stringify(play.received_resumes[id]); }).join('\n'),
      text: '✓ ' + (answered.length === 1 ? '1 answer' : answered.length + ' answers')
    }) : null,
    play.attempt ? el('span', { class: 'node-flag attempt', text: 'attempt ' + play.attempt }) : null,
    el('span', { class: 'node-status', text: statusLabel(shownStatus(play)) }),
    durationNode(play, 'node-dur'),
    isRoot ? null : forkButton(play)
  ]);
}

function renderTree(state, changed) {
  const overlay = state.overlay;
  // The recent Plays only matter for the button shown when nothing is overlaid.
  if (changed && overlay.root && changed.length === 1 && changed[0] === 'plays') return;
  const panel = clear(byId('panel-tree'));
  const meta = clear(byId('center-meta'));
  if (overlay.phase === 'loading') {
    panel.appendChild(emptyState([el('p', { text: 'Loading Play ' + overlay.sid + '…' })]));
    return;
  }
  if (overlay.phase === 'error') {
    panel.appendChild(emptyState([
      el('p', {}, [el('strong', { text: 'Play ' + overlay.sid + ' could not be shown.' })]),
      el('p', { text: errorText(overlay.error) }),
      el('p', {}, [el('a', { href: logicHref(page.logic.sid, ''), text: 'Back to ' + page.logic.name })])
    ], 'alert'));
    return;
  }
  if (!overlay.root) { noOverlay(panel, state.plays); return; }
  const index = childrenIndex(overlay);
  meta.appendChild(el('span', {}, [fmtInt(overlay.descendants.length) + ' sub-Play' + (overlay.descendants.length === 1 ? '' : 's')]));
  let count = 0;
  function node(play, depth, isRoot) {
    count += 1;
    const kids = index[play.sid] || [];
    const li = el('li', { class: 'node' + (isRoot ? ' node-root' : '') + (play.replayed ? ' node-replayed' : ''), 'data-play': play.sid }, [nodeRow(play, isRoot)]);
    if ((play.status === 'failed' || play.status === 'timed_out') && play.error_message) {
      li.appendChild(el('div', { class: 'node-error', text: splitError(play.error_message).message }));
    }
    if (kids.length && depth < 64) {
      const ul = el('ul');
      for (let i = 0; i < kids.length; i++) {
        if (count >= MAX_TREE_NODES) {
          ul.appendChild(el('li', { class: 'tree-more', text: '… ' + (kids.length - i) + ' more sub-Plays not drawn' }));
          break;
        }
        ul.appendChild(node(kids[i], depth + 1, false));
      }
      li.appendChild(ul);
    }
    return li;
  }
  panel.appendChild(el('div', { class: 'tree-card' }, [el('ul', { class: 'tree', 'aria-label': 'Play tree' }, [node(overlay.root, 0, true)])]));
}

function renderLogs(state) {
  const root = state.overlay.root;
  if (state.overlay.phase === 'loading') return;
  const pre = byId('logs');
  if (!root) { pre.textContent = 'Logs of the overlaid Play appear here.'; return; }
  pre.textContent = root.logs || 'Play ' + root.sid + ' wrote no logs.';
}

export function mountTree() {
  store.subscribe(['overlay', 'plays'], renderTree);
  store.subscribe(['overlay'], renderLogs);
  renderTree(store.get());
  renderLogs(store.get());
}
