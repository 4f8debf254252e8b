// The page's state: what the server sent once (`page`, never changes) and one small store of
// slices that the regions subscribe to. A region names the slices it draws from and is called
// again only when one of them is replaced, so a stats refresh never redraws the trace and a
// new example never redraws the flow. Slices are replaced, never mutated in place.

import { createStore } from './store.js';

const boot = JSON.parse(document.getElementById('boot').textContent);
const versions = boot.versions || [];
const versionsBySid = {};
versions.forEach(function (v) { versionsBySid[v.sid] = v; });

export const page = Object.freeze({
  logic: boot.logic,
  versions: versions,
  versionsBySid: versionsBySid,
  currentVersion: versions.filter(function (v) { return v.current; })[0] || versions[0] || { inputs: [], outputs: [], label: '' }
});

// The overlay when no Play is overlaid; one shared object, so setting it again changes nothing.
export const NO_OVERLAY = Object.freeze({
  sid: '', load: 0, phase: 'none', root: null, descendants: [], ancestors: [], error: null, note: '', fetched: false
});

export const store = createStore({
  // The version the play bar runs and the sidebar, flow and code show; `picked` once the
  // person chose one in the sidebar (until then the flow draws the latest Play of any version).
  viewed: { version: page.currentVersion, picked: false },
  stats: { data: boot.stats },
  examples: boot.examples || [],
  plays: boot.plays || [],
  // The overlaid Play: phase none | loading | ready | error; `load` counts overlays so late
  // answers for an old one are dropped; `note` is a line about the live updates.
  overlay: NO_OVERLAY,
  runMessage: { text: '', error: false },
  // The code view: the version its editor shows, python or mapping mode, a note for the bar.
  code: { versionSid: page.currentVersion.sid || '', mode: isBound(page.currentVersion) ? 'mapping' : 'python', note: '' },
  // The error under the code bar ({message, data} from the daemon), or null.
  codeError: null
});

export function isBound(version) { return !!(version && version.kind && version.kind !== 'python'); }

// Top-level Plays first: those are the runs started from here; child Plays show when this
// Logic only ever ran inside others.
export function listedPlays(plays) {
  const top = plays.filter(function (p) { return !p.parent_play_sid; });
  return (top.length ? top : plays).slice(0, 25);
}

export function allPlays(overlay) { return overlay.root ? [overlay.root].concat(overlay.descendants) : []; }
