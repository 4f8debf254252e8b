// The play bar's height: a drag handle on its top edge resizes it, a button folds it down to
// its headers and the Run button, and both are remembered (localStorage) across pages.

const KEY = 'hero_logic.playbar';
const MIN_HEIGHT = 140;
// The flow above keeps at least this much.
const MIN_ABOVE = 160;

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || '{}');
    return { height: Number(saved.height) || 0, collapsed: !!saved.collapsed };
  } catch (_) {
    return { height: 0, collapsed: false };
  }
}

function save(state) {
  try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (_) { /* private mode: not remembered */ }
}

function clampHeight(view, height) {
  const max = Math.max(MIN_HEIGHT, view.getBoundingClientRect().height - MIN_ABOVE);
  return Math.round(Math.min(Math.max(height, MIN_HEIGHT), max));
}

function apply(view, bar, toggle, state) {
  if (state.height) view.style.setProperty('--playbar-h', clampHeight(view, state.height) + 'px');
  else view.style.removeProperty('--playbar-h');
  view.classList.toggle('pb-collapsed', state.collapsed);
  toggle.textContent = state.collapsed ? '▴' : '▾';
  toggle.title = state.collapsed ? 'Show the play bar' : 'Fold the play bar down (Run stays)';
  toggle.setAttribute('aria-label', toggle.title);
  toggle.setAttribute('aria-expanded', String(!state.collapsed));
}

function startDrag(event, view, bar, state, redraw) {
  if (state.collapsed || event.button !== 0) return;
  event.preventDefault();
  const startY = event.clientY;
  const startHeight = bar.getBoundingClientRect().height;
  document.body.classList.add('pb-dragging');
  function move(e) {
    state.height = clampHeight(view, startHeight + (startY - e.clientY));
    redraw();
  }
  function up() {
    document.removeEventListener('pointermove', move);
    document.removeEventListener('pointerup', up);
    document.body.classList.remove('pb-dragging');
    save(state);
  }
  document.addEventListener('pointermove', move);
  document.addEventListener('pointerup', up);
}

function nudge(event, view, bar, state, redraw) {
  const step = { ArrowUp: 24, ArrowDown: -24 }[event.key];
  if (!step || state.collapsed) return;
  event.preventDefault();
  state.height = clampHeight(view, bar.getBoundingClientRect().height + step);
  redraw();
  save(state);
}

export function mountPlaybarSize() {
  const view = document.querySelector('.logic-view');
  const bar = view && view.querySelector('.playbar');
  if (!bar) return;
  const state = load();
  const handle = document.createElement('div');
  handle.className = 'pb-resize';
  handle.id = 'playbar-resize';
  handle.tabIndex = 0;
  handle.setAttribute('role', 'separator');
  handle.setAttribute('aria-orientation', 'horizontal');
  handle.setAttribute('aria-label', 'Resize the play bar (drag, or arrow keys)');
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'pb-toggle icon-btn';
  toggle.id = 'playbar-toggle';
  bar.prepend(handle);
  bar.prepend(toggle);
  const redraw = function () { apply(view, bar, toggle, state); };
  handle.addEventListener('pointerdown', function (e) { startDrag(e, view, bar, state, redraw); });
  handle.addEventListener('keydown', function (e) { nudge(e, view, bar, state, redraw); });
  toggle.addEventListener('click', function () {
    state.collapsed = !state.collapsed;
    redraw();
    save(state);
  });
  window.addEventListener('resize', redraw);
  redraw();
}
