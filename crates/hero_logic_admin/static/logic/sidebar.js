// The info sidebar: breadcrumb, the declared fields and the versions. The fields of every
// version are rendered by the server (one <template> per version and part, the same markup as
// the current version's list); picking a version shows its copy. Slices: viewed, overlay.

import { errorText, rpc } from './api.js';
import { byId, clear, el } from './dom.js';
import { logicHref } from './format.js';
import { pickVersion } from './actions.js';
import { page, store } from './state.js';

function serverFields(versionSid, part) {
  return document.querySelector('template.version-fields[data-version="' + CSS.escape(versionSid) + '"][data-part="' + part + '"]');
}

function showFields(version) {
  ['inputs', 'outputs'].forEach(function (part) {
    const template = version.sid ? serverFields(version.sid, part) : null;
    if (template) clear(byId('side-' + part)).appendChild(template.content.cloneNode(true));
  });
}

function renderVersion(state) {
  const version = state.viewed.version;
  Array.prototype.forEach.call(document.querySelectorAll('.version-btn'), function (button) {
    button.setAttribute('aria-pressed', button.getAttribute('data-version') === version.sid ? 'true' : 'false');
  });
  showFields(version);
  byId('make-current-row').hidden = version === page.currentVersion || !version.sid;
  byId('make-current-label').textContent = version.label || '';
  byId('make-current-msg').textContent = '';
}

function makeCurrent() {
  const version = store.get().viewed.version;
  const overlaySid = store.get().overlay.sid;
  const button = byId('make-current');
  button.disabled = true;
  rpc('LogicService.logic_set_current_version', { logic: page.logic.sid, version: version.sid }).then(function () {
    location.assign(logicHref(page.logic.sid, overlaySid) + (overlaySid ? '&' : '?') + 'version=' + encodeURIComponent(version.sid));
  }, function (err) {
    button.disabled = false;
    byId('make-current-msg').textContent = errorText(err);
  });
}

function renderBreadcrumb(state) {
  const overlay = state.overlay;
  if (overlay.phase === 'loading') return;
  const nav = clear(byId('breadcrumb'));
  nav.appendChild(el('a', { href: '/', text: 'Logics' }));
  overlay.ancestors.forEach(function (a) {
    nav.appendChild(el('span', { 'aria-hidden': 'true', text: '/' }));
    nav.appendChild(el('a', { href: logicHref(a.logic_sid, a.sid), title: 'Play ' + a.sid, text: a.name }));
  });
  nav.appendChild(el('span', { 'aria-hidden': 'true', text: '/' }));
  nav.appendChild(el('span', { 'aria-current': 'page', text: page.logic.name }));
  if (overlay.root) {
    nav.appendChild(el('span', { 'aria-hidden': 'true', text: '·' }));
    nav.appendChild(el('span', { class: 'muted' }, ['Play ', el('code', { text: overlay.root.sid })]));
  }
}

export function mountSidebar() {
  Array.prototype.forEach.call(document.querySelectorAll('.version-btn'), function (button) {
    button.addEventListener('click', function () { pickVersion(button.getAttribute('data-version')); });
  });
  byId('make-current').addEventListener('click', makeCurrent);
  store.subscribe(['viewed'], renderVersion);
  store.subscribe(['overlay'], renderBreadcrumb);
  renderBreadcrumb(store.get());
}
