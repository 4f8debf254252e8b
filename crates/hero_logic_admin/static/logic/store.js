// A tiny store of named slices, with no DOM: the logic view keeps its state in one of these
// (state.js), and the unit test in testcases/tests/store.test.mjs runs it under node.

/**
 * A store of named slices. `set({slice: value, ...})` replaces slices and calls, once each,
 * the subscribers of any slice whose value changed (by identity), with the whole state and the
 * names that changed.
 */
export function createStore(initial) {
  let state = Object.assign({}, initial);
  const subscribers = [];

  function known(name) {
    if (!Object.prototype.hasOwnProperty.call(state, name)) throw new Error('no state slice named ' + name);
  }

  function set(patch) {
    const changed = Object.keys(patch).filter(function (name) { known(name); return patch[name] !== state[name]; });
    if (!changed.length) return;
    state = Object.assign({}, state, patch);
    subscribers.slice().forEach(function (sub) {
      if (sub.slices.some(function (s) { return changed.indexOf(s) >= 0; })) sub.fn(state, changed);
    });
  }

  function subscribe(slices, fn) {
    slices.forEach(known);
    const sub = { slices: slices, fn: fn };
    subscribers.push(sub);
    return function unsubscribe() {
      const at = subscribers.indexOf(sub);
      if (at >= 0) subscribers.splice(at, 1);
    };
  }

  return { get: function () { return state; }, set: set, subscribe: subscribe };
}
