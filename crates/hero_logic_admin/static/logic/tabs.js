// The middle view's tabs (Flow, Play tree, Logs, Code) with arrow-key moves, and Split:
// flow and code side by side. Page-local UI state, no store slice.

import { byId } from './dom.js';

let selectTab = function () {};

export function mountTabs() {
  const tabs = Array.prototype.slice.call(document.querySelectorAll('.tabs [role=tab]'));
  const center = document.querySelector('.center');
  let splitOn = false;
  function show(tab) {
    tabs.forEach(function (t) {
      const id = t.getAttribute('aria-controls');
      const both = splitOn && (id === 'panel-flow' || id === 'panel-source');
      byId(id).hidden = splitOn ? !both : t !== tab;
    });
  }
  function setSplit(on) {
    splitOn = on;
    center.classList.toggle('split', on);
    byId('split-toggle').setAttribute('aria-pressed', on ? 'true' : 'false');
    show(tabs.filter(function (t) { return t.getAttribute('aria-selected') === 'true'; })[0] || tabs[0]);
  }
  function select(tab, focus) {
    const id = tab.getAttribute('aria-controls');
    if (splitOn && id !== 'panel-flow' && id !== 'panel-source') setSplit(false);
    tabs.forEach(function (t) {
      const on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
    });
    show(tab);
    if (focus) tab.focus();
  }
  byId('split-toggle').addEventListener('click', function () { setSplit(!splitOn); });
  tabs.forEach(function (tab, i) {
    tab.addEventListener('click', function () { select(tab, false); });
    tab.addEventListener('keydown', function (event) {
      let next = null;
      if (event.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
      else if (event.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (event.key === 'Home') next = tabs[0];
      else if (event.key === 'End') next = tabs[tabs.length - 1];
      if (next) { event.preventDefault(); select(next, true); }
    });
  });
  selectTab = function (id) { const tab = byId(id); if (tab) select(tab, false); };
}

export function showTab(id) { selectTab(id); }
