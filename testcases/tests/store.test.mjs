// The logic view's state store (crates/hero_logic_admin/static/logic/store.js) under node:
// a region is called only when a slice it names is replaced, once per change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createStore } from '../../crates/hero_logic_admin/static/logic/store.js';

function recorder(store, slices) {
  const calls = [];
  store.subscribe(slices, (state, changed) => calls.push({ state, changed }));
  return calls;
}

describe('state store', () => {
  test('a subscriber runs only for the slices it names', () => {
    const store = createStore({ stats: { data: 1 }, overlay: { sid: '' }, examples: [] });
    const trace = recorder(store, ['overlay']);
    const stats = recorder(store, ['stats']);
    store.set({ stats: { data: 2 } });
    assert.equal(trace.length, 0, 'a stats change does not redraw the trace');
    assert.equal(stats.length, 1);
    assert.deepEqual(stats[0].changed, ['stats']);
    assert.deepEqual(stats[0].state.stats, { data: 2 });
    assert.deepEqual(store.get().overlay, { sid: '' }, 'other slices are kept');
  });

  test('one set of several slices calls each subscriber once, with what changed', () => {
    const store = createStore({ overlay: 1, plays: 1, stats: 1 });
    const flow = recorder(store, ['overlay', 'plays']);
    store.set({ overlay: 2, plays: 2, stats: 2 });
    assert.equal(flow.length, 1);
    assert.deepEqual(flow[0].changed.sort(), ['overlay', 'plays', 'stats']);
  });

  test('setting the same value (by identity) changes nothing and calls nobody', () => {
    const none = Object.freeze({ sid: '' });
    const store = createStore({ overlay: none });
    const calls = recorder(store, ['overlay']);
    store.set({ overlay: none });
    assert.equal(calls.length, 0);
    store.set({ overlay: { sid: '' } });
    assert.equal(calls.length, 1, 'a new object is a new value, even when equal');
  });

  test('an unknown slice is refused by name, in set and in subscribe', () => {
    const store = createStore({ stats: null });
    assert.throws(() => store.set({ stat: 1 }), /no state slice named stat/);
    assert.throws(() => store.subscribe(['overlay'], () => {}), /no state slice named overlay/);
  });

  test('unsubscribe stops the calls; a subscriber may set another slice', () => {
    const store = createStore({ viewed: 1, runMessage: '' });
    const messages = recorder(store, ['runMessage']);
    const stop = store.subscribe(['viewed'], (state) => store.set({ runMessage: 'viewing ' + state.viewed }));
    store.set({ viewed: 2 });
    assert.equal(messages.length, 1);
    assert.equal(store.get().runMessage, 'viewing 2');
    stop();
    store.set({ viewed: 3 });
    assert.equal(store.get().runMessage, 'viewing 2');
  });
});
