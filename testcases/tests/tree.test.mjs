// The Play tree's timeline (Gantt), folding and once-said failures, in a real browser against
// a real daemon and admin. Run: cd testcases && node --test tests/tree.test.mjs.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { SCREENSHOT_DIR, assertNoConsoleErrors, browserSuite, rpc, screenshot } from '../lib/harness.mjs';

const suite = browserSuite();
const newPage = suite.newPage;
const url = suite.url;

function define(name, lines) {
  return rpc(suite.baseUrl(), 'LogicService.logic_create', { name, python_source: lines.join('\n') + '\n' });
}

before(async () => {
  await suite.ready;
  process.stdout.write(`# screenshots: ${SCREENSHOT_DIR}\n`);
  await define('tl_child', [
    'import time', 'from hero_tracing import logic', '', '',
    '@logic(name="tl_child", inputs={"ms": "integer"}, outputs={"ok": "boolean"})',
    'def tl_child(ms):',
    '    time.sleep(ms / 1000)',
    '    return {"ok": True}',
  ]);
  await define('tl_fail', [
    'from hero_tracing import logic', '', '',
    '@logic(name="tl_fail", outputs={"ok": "boolean"})',
    'def tl_fail():',
    '    raise ValueError("the root cause")',
  ]);
  await define('tl_parent', [
    'from hero_tracing import logic', '', '',
    '@logic(name="tl_parent", inputs={"fail": "boolean"}, outputs={"ok": "boolean"})',
    'def tl_parent(fail):',
    '    logic.invoke("tl_child", ms=300)',
    '    logic.invoke("tl_child", ms=300)',
    '    if fail:',
    '        logic.invoke("tl_fail")',
    '    return {"ok": True}',
  ]);
});

/** Left and width (%) of each node's timeline bar, in tree order. */
function bars(page) {
  return page.locator('#panel-tree li.node > .node-row .gantt-bar').evaluateAll((list) => list.map((b) => ({
    left: parseFloat(b.style.left), width: parseFloat(b.style.width), live: b.classList.contains('gantt-live'),
  })));
}

async function openTree(page, logic, sid) {
  await page.goto(url(`/logics/${logic}?play=${sid}`));
  await page.locator('#tab-tree').click();
  await page.locator('#panel-tree .tree').waitFor();
}

describe('play tree', () => {
  test('a timeline bar per node in start order, a failure said once, and folding that holds', async () => {
    const play = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'tl_parent', inputs: { fail: true } });
    const done = await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 60000 });
    assert.equal(done.status, 'failed');
    const { page, errors } = await newPage();
    await openTree(page, 'tl_parent', play.sid);
    await page.locator('#gantt-axis').waitFor();
    const drawn = await bars(page);
    assert.equal(drawn.length, 4, `root and three children have bars: ${JSON.stringify(drawn)}`);
    assert.ok(drawn[0].left === 0 && drawn[0].width > 95, `the root spans the timeline: ${JSON.stringify(drawn[0])}`);
    assert.ok(drawn[2].left > drawn[1].left + drawn[1].width - 2, `the second child starts after the first: ${JSON.stringify(drawn)}`);
    assert.ok(drawn[1].width > 20, `a 300 ms child of a ~700 ms run is a wide bar: ${JSON.stringify(drawn[1])}`);

    const errorsShown = await page.locator('#panel-tree .node-error').allTextContents();
    assert.equal(errorsShown.filter((t) => t.includes('the root cause')).length, 1, `the cause is said once: ${errorsShown}`);
    const rootError = await page.locator('#panel-tree li.node-root > .node-error').textContent();
    assert.match(rootError, /failed in child tl_fail/);
    await screenshot(page, 'tree-timeline-failed');

    const fold = page.locator('#panel-tree li.node-root > .node-row .node-fold');
    await fold.click();
    assert.equal(await page.locator('#panel-tree li.node-root > ul').isVisible(), false, 'folded, the children are hidden');
    assert.equal(await fold.getAttribute('aria-expanded'), 'false');
    await fold.click();
    assert.equal(await page.locator('#panel-tree li.node-root > ul').isVisible(), true);
    assertNoConsoleErrors(errors);
  });

  test('the timeline grows live while the Play runs', async () => {
    const play = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'tl_child', inputs: { ms: 2500 } });
    const { page, errors } = await newPage();
    await openTree(page, 'tl_child', play.sid);
    await page.locator('#panel-tree .gantt-bar.gantt-live').waitFor();
    const axis = page.locator('#gantt-axis');
    const first = await axis.textContent();
    assert.match(first, /so far/);
    await page.waitForFunction((before) => document.getElementById('gantt-axis').textContent !== before, first, { timeout: 5000 });
    await screenshot(page, 'tree-timeline-live');
    await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 60000 });
    await page.locator('#panel-tree .gantt-bar.status-success').waitFor();
    assert.doesNotMatch(await axis.textContent(), /so far/, 'done, the timeline is final');
    assertNoConsoleErrors(errors);
  });
});
