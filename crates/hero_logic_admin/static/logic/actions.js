// What changes the state from outside the page: overlaying a Play (and following it live
// through Server-Sent Events), picking a version, and reading fresh stats and Plays.
// Regions call these; only the store is written here, never a region's DOM.

import { errorText, eventsUrl, fetchOverlay, rpc } from './api.js';
import { fmtDuration, isTerminal, logicHref, shownStatus, statusLabel } from './format.js';
import { NO_OVERLAY, page, store } from './state.js';

let loads = 0;
let stream = null;
let lastRoot = null;      // the newest tree's root, before the frame that draws it
let pending = null;       // the newest tree not drawn yet

export function closeStream() {
  if (stream) { stream.close(); stream = null; }
}

function setOverlay(changes) {
  store.set({ overlay: Object.assign({}, store.get().overlay, changes) });
}

export function setOverlayNote(note) { setOverlay({ note: note }); }

export function setRunMessage(text, isError) {
  store.set({ runMessage: { text: text || '', error: !!isError } });
}

// Overlays a Play (or none, with sid ''). how: 'push' adds a history entry, 'replace'
// rewrites the current one, 'none' leaves the URL (back/forward, first load).
export function showOverlay(sid, how, preloaded) {
  closeStream();
  loads += 1;
  const load = loads;
  pending = null;
  lastRoot = null;
  if (how === 'push' || how === 'replace') {
    const url = viewHref(sid);
    if (how === 'push') history.pushState({ play: sid }, '', url);
    else history.replaceState({ play: sid }, '', url);
  }
  if (!sid) { store.set({ overlay: NO_OVERLAY }); return; }
  if (preloaded) {
    // A Play just started here: drawn at once, no loading state in between.
    lastRoot = preloaded.play;
    store.set({ overlay: Object.assign({}, NO_OVERLAY, {
      sid: sid, load: load, phase: 'ready', root: preloaded.play, descendants: preloaded.descendants || [], ancestors: preloaded.ancestors || []
    }) });
    if (!isTerminal(preloaded.play.status)) openStream(sid, load);
    return;
  }
  store.set({ overlay: Object.assign({}, NO_OVERLAY, { sid: sid, load: load, phase: 'loading' }) });
  fetchOverlay(sid).then(function (overlay) {
    if (load !== loads) return;
    if (overlay.play.logic_sid !== page.logic.sid) {
      // A Play of another Logic: its own view is where it belongs.
      location.replace(logicHref(overlay.play.logic_sid, sid));
      return;
    }
    applyTree(load, overlay.play, overlay.descendants || [], { ancestors: overlay.ancestors || [], fetched: true });
    if (!isTerminal(overlay.play.status)) openStream(sid, load);
  }, function (err) {
    if (load !== loads) return;
    setOverlay({ phase: 'error', root: null, descendants: [], error: err });
    setRunMessage('Play ' + sid + ' could not be shown: ' + errorText(err), true);
  });
}

// This view's URL with the Play overlaid and the version picked in the sidebar, so a reload
// or a shared link shows the same.
function viewHref(playSid) {
  const viewed = store.get().viewed;
  const href = logicHref(page.logic.sid, playSid);
  if (!viewed.picked || !viewed.version.sid || viewed.version === page.currentVersion) return href;
  return href + (playSid ? '&' : '?') + 'version=' + encodeURIComponent(viewed.version.sid);
}

function applyTree(load, play, descendants, extra) {
  const before = lastRoot && lastRoot.sid === play.sid ? lastRoot.status : '';
  if (before && !isTerminal(before) && isTerminal(play.status)) {
    setRunMessage('Play ' + play.sid + ' ended: ' + statusLabel(shownStatus(play)) + ' in ' + fmtDuration(play.duration_ms) + '.');
  } else if (before && before !== 'awaiting_resume' && play.status === 'awaiting_resume') {
    setRunMessage('Play ' + play.sid + ' waits for an answer (see the trace).');
  } else if (before === 'awaiting_resume' && !isTerminal(play.status) && play.status !== 'awaiting_resume') {
    setRunMessage('Play ' + play.sid + ' has its answer and runs on.');
  }
  lastRoot = play;
  const merged = Object.assign({}, pending && pending.load === load ? pending.extra : {}, extra || {});
  const first = !pending;
  pending = { load: load, play: play, descendants: descendants, extra: merged };
  // Live trees can arrive faster than a frame; draw only the latest one per frame.
  if (first) window.requestAnimationFrame(drawPending);
}

function drawPending() {
  const tree = pending;
  pending = null;
  if (!tree || tree.load !== loads) return;
  // A new tree replaces any note (a failed cancel), as the trace's status line does.
  const overlay = Object.assign({}, store.get().overlay, tree.extra, { phase: 'ready', root: tree.play, descendants: tree.descendants, error: null, note: '' });
  store.set({ overlay: overlay, plays: withPlay(store.get().plays, tree.play) });
}

function openStream(sid, load) {
  closeStream();
  if (typeof EventSource === 'undefined') return;
  const source = new EventSource(eventsUrl(sid));
  stream = source;
  source.addEventListener('tree', function (event) {
    if (load !== loads) return;
    let tree;
    try { tree = JSON.parse(event.data); } catch (e) { return; }
    applyTree(load, tree.play, tree.descendants || []);
  });
  source.addEventListener('end', function () {
    if (stream === source) closeStream();
    if (load === loads) refreshSideData();
  });
  source.addEventListener('failure', function (event) {
    if (stream === source) closeStream();
    let info = {};
    try { info = JSON.parse(event.data); } catch (e) { info = {}; }
    if (load === loads) setOverlayNote('Live updates stopped: ' + (info.error || 'the daemon did not answer'));
  });
}

// The recent Plays with this one's summary in its place (or first, when it is new here).
function withPlay(plays, play) {
  const summary = {
    sid: play.sid, name: play.name, logic_sid: play.logic_sid, logic_version_sid: play.logic_version_sid,
    parent_play_sid: play.parent_play_sid, status: play.status, created_at: play.created_at,
    started_at: play.started_at, completed_at: play.completed_at, duration_ms: play.duration_ms,
    output_data: play.output_data && typeof play.output_data.ok === 'boolean' ? { ok: play.output_data.ok } : {}
  };
  let found = false;
  const next = plays.map(function (p) { if (p.sid === play.sid) { found = true; return summary; } return p; });
  if (!found && play.logic_sid === page.logic.sid) next.unshift(summary);
  return next;
}

export function rememberPlay(play) { store.set({ plays: withPlay(store.get().plays, play) }); }

// Picking a version in the info sidebar: the play bar runs it; flow, code, fields and stats follow.
// `fromUrl`: the URL already names it (first load), so it is left as it is.
export function pickVersion(sid, fromUrl) {
  const version = page.versionsBySid[sid];
  if (!version) return;
  const current = version === page.currentVersion;
  store.set({
    viewed: { version: version, picked: true },
    runMessage: { text: current ? '' : 'Runs version ' + version.label + ', not the current one.', error: false }
  });
  if (!fromUrl) {
    const overlaid = store.get().overlay.sid;
    history.replaceState({ play: overlaid }, '', viewHref(overlaid));
  }
  refreshStats(true);
}

// Stats of the viewed version; on failure the old figures stay, unless they were another
// version's (a version was just picked).
function refreshStats(versionChanged) {
  const sid = store.get().viewed.version.sid;
  rpc('LogicService.logic_stats', { logic: page.logic.sid, version: sid || undefined }).then(function (stats) {
    if (store.get().viewed.version.sid === sid) store.set({ stats: { data: stats } });
  }, function () {
    if (store.get().viewed.version.sid === sid) store.set({ stats: { data: versionChanged ? null : store.get().stats.data } });
  });
}

export function refreshSideData() {
  refreshStats(false);
  rpc('LogicService.play_list_for_logic', { logic: page.logic.sid, limit: 50 }).then(function (found) {
    store.set({ plays: found.items || [] });
  }, function () {});
}
