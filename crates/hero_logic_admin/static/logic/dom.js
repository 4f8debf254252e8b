// Building DOM nodes, and the few status widgets every region draws the same way.

import { fmtDuration, isTerminal, playDuration, statusLabel } from './format.js';

export function byId(id) { return document.getElementById(id); }

// el('div', {class: 'x', text: 'hi', onclick: fn, 'aria-label': '...'}, [children]).
// No `style` key: the page's Content-Security-Policy refuses style attributes; set custom
// properties through node.style.setProperty instead.
export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (key) {
      const value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.slice(0, 2) === 'on' && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else if (key === 'value') node.value = value;
      else if (key === 'checked') node.checked = !!value;
      else if (key === 'style') throw new Error('el(): set styles with node.style, not a style attribute');
      else node.setAttribute(key, value === true ? '' : String(value));
    });
  }
  (children || []).forEach(function (child) {
    if (child === null || child === undefined || child === false) return;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  });
  return node;
}

export function svgEl(tag, attrs) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

export function dot() { return el('span', { class: 'dot', 'aria-hidden': 'true' }); }

export function pauseIcon() { return el('span', { class: 'i-pause', 'aria-hidden': 'true' }); }

export function statusPill(status) {
  return el('span', { class: 'pill status status-' + status }, [dot(), statusLabel(status)]);
}

// A duration that keeps counting while its Play runs (see tickDurations).
export function durationNode(play, cls) {
  const running = !isTerminal(play.status) && play.started_at && play.status !== 'awaiting_resume';
  const node = el('span', { class: cls, text: play.started_at || isTerminal(play.status) ? fmtDuration(playDuration(play)) : '' });
  if (running) node.setAttribute('data-since', String(play.started_at));
  return node;
}

// Running durations count up once a second in place; nothing is fetched for it.
let ticker = 0;
function tickDurations() {
  const nodes = document.querySelectorAll('[data-since]');
  for (let i = 0; i < nodes.length; i++) {
    nodes[i].textContent = fmtDuration(Date.now() - Number(nodes[i].getAttribute('data-since')));
  }
}

export function tickWhile(live) {
  if (live && !ticker) ticker = window.setInterval(tickDurations, 1000);
  if (!live && ticker) { window.clearInterval(ticker); ticker = 0; }
}
