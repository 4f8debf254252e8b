// How soon a Play's end reaches an open page, in a real browser against a real daemon and
// admin: after an answered question, and in a child Play's own view while its run goes on.
// The delays are logged; only a generous sanity bound is asserted (a coalescing bug made them
// seconds, twice the time the stream had waited before).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { browserSuite, rpc, screenshot } from '../lib/harness.mjs';

/** Far above what the page needs (tens of ms), far below what the bug cost (seconds). */
const SANITY_MS = 1500;

const suite = browserSuite();
const newPage = suite.newPage;
const url = suite.url;

/**
 * From now on, the page notes the wall-clock time (ms since the epoch, as the daemon's
 * completed_at) when the overlay's status pill first reads `status`.
 */
async function markWhenStatusShows(page, status) {
  await page.evaluate((wanted) => {
    window.__statusShownAt = 0;
    const check = () => {
      if (!window.__statusShownAt && document.querySelector(`#stats .pill.status-${wanted}`)) window.__statusShownAt = Date.now();
    };
    new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true });
    check();
  }, status);
}

async function statusShownAt(page, status) {
  await page.locator(`#stats .pill.status-${status}`).waitFor({ timeout: 20000 });
  return page.evaluate(() => window.__statusShownAt);
}

async function waitUntil(what, check, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not after ${timeoutMs} ms`);
}

describe('live updates', () => {
  test('a resumed Play\'s end is on the page right after the Play ends', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/approval_flow'));
    await page.locator('#in-recipient').fill('Ada');
    await page.locator('#run-button').click();
    const form = page.locator('#pause-forms form.pause-form[data-kind="confirm"]');
    await form.waitFor();
    await page.locator('#stats .pill.status-awaiting_resume').waitFor();
    // A person takes a while to answer; the stream waited all that time for the next change.
    await page.waitForTimeout(2000);
    await markWhenStatusShows(page, 'success');
    await form.getByRole('button', { name: 'Yes' }).click();
    const shown = await statusShownAt(page, 'success');
    const sid = new URL(page.url()).searchParams.get('play');
    const play = await rpc(suite.baseUrl(), 'LogicService.play_status', { play_sid: sid });
    const delay = shown - play.completed_at;
    process.stdout.write(`# resume: the end showed ${delay} ms after the Play's completed_at\n`);
    assert.ok(delay < SANITY_MS, `the end reached the page ${delay} ms after the Play ended`);
    await screenshot(page, 'live-resume-end');
    assert.deepEqual(errors, []);
  });

  test('a child Play\'s view shows its end while the rest of the run goes on', async () => {
    // The child works quietly for a while, then calls a logic and ends: the stream waited
    // long for that call's change, and the end follows it closely.
    const child = [
      'import time',
      'from hero_tracing import logic',
      '',
      '',
      '@logic(name="live_child", inputs={}, outputs={"done": {"type": "boolean"}})',
      'def live_child() -> dict:',
      '    time.sleep(3.0)',
      '    logic.invoke("greeting", name="Live")',
      '    return {"done": True}',
      '',
    ].join('\n');
    const parent = [
      'import time',
      'from hero_tracing import logic',
      '',
      '',
      '@logic(name="live_parent", inputs={}, outputs={"done": {"type": "boolean"}})',
      'def live_parent() -> dict:',
      '    logic.invoke("live_child")',
      '    time.sleep(5.0)',
      '    return {"done": True}',
      '',
    ].join('\n');
    await rpc(suite.baseUrl(), 'LogicService.logic_create', { name: 'live_child', python_source: child });
    await rpc(suite.baseUrl(), 'LogicService.logic_create', { name: 'live_parent', python_source: parent });
    const root = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'live_parent', inputs: {} });
    const childSid = await waitUntil('the child Play', async () => {
      const tree = await rpc(suite.baseUrl(), 'LogicService.play_tree', { play_sid: root.sid });
      const found = (tree.descendants || []).find((p) => p.name === 'live_child' && p.status === 'running');
      return found && found.sid;
    });

    // Drill into the child mid-run, as from the parent's flow or tree.
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/live_parent?play=${root.sid}`));
    await page.locator('#stats .pill.status-running').waitFor();
    await page.locator('#tab-tree').click();
    await page.locator('#panel-tree a.node-name', { hasText: 'live_child' }).click();
    await page.waitForURL(new RegExp(`play=${childSid}`));
    await page.locator('#stats .pill.status-running').waitFor();
    await markWhenStatusShows(page, 'success');
    const shown = await statusShownAt(page, 'success');
    const childPlay = await rpc(suite.baseUrl(), 'LogicService.play_status', { play_sid: childSid });
    const rootNow = await rpc(suite.baseUrl(), 'LogicService.play_status', { play_sid: root.sid });
    const delay = shown - childPlay.completed_at;
    process.stdout.write(`# child: its end showed ${delay} ms after the child's completed_at (the run was ${rootNow.status})\n`);
    assert.ok(delay < SANITY_MS, `the child's end reached its view ${delay} ms after it ended`);
    assert.ok(!rootNow.completed_at || shown < rootNow.completed_at, 'the child showed its end before the whole run ended');
    assert.equal(await page.locator('#cancel-play').filter({ visible: true }).count(), 0, 'no Cancel on a finished child');
    assert.equal(await page.locator('#output [data-output="done"] .out-value').textContent(), 'true');
    await screenshot(page, 'live-child-end');
    assert.deepEqual(errors, []);
  });
});
