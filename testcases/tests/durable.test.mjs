// Durable runs in the admin, in a real browser against a real daemon: a sleeping Play shows
// when it wakes and can be woken now or cancelled; Re-run and Re-run from here (on a node of
// the flow and of the tree) start a new Play and open it.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { browserSuite, rpc, screenshot } from '../lib/harness.mjs';

const suite = browserSuite({ width: 1280, height: 800 });
const newPage = suite.newPage;
const url = suite.url;

before(async () => {
  await suite.ready;
  await rpc(suite.baseUrl(), 'LogicService.logic_create', {
    name: 'ui_nap',
    python_source: [
      'from hero_tracing import logic',
      '',
      '',
      '@logic(name="ui_nap", outputs={"slept": "boolean"})',
      'def ui_nap():',
      '    logic.sleep(600)',
      '    return {"slept": True}',
      '',
    ].join('\n'),
  });
  await rpc(suite.baseUrl(), 'LogicService.logic_create', {
    name: 'ui_three',
    python_source: [
      'from hero_tracing import logic',
      '',
      '',
      '@logic(name="ui_three", inputs={"who": "string"}, outputs={"said": "array"})',
      'def ui_three(who):',
      '    said = []',
      '    said.append(logic.invoke("greeting", name=who + "1")["message"])',
      '    said.append(logic.invoke("greeting", name=who + "2")["message"])',
      '    said.append(logic.invoke("greeting", name=who + "3")["message"])',
      '    return {"said": said}',
      '',
    ].join('\n'),
  });
});

async function sleeping() {
  const play = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'ui_nap', inputs: {} });
  const waiting = await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 20000 });
  assert.equal(waiting.status, 'awaiting_resume');
  return waiting;
}

async function waitForOverlayStatus(page, status) {
  await page.locator(`#stats .pill.status-${status}`).waitFor({ timeout: 20000 });
}

/** The Play the page overlays once its URL names another one than `before`. */
async function openedPlay(page, before) {
  await page.waitForURL((u) => { const sid = new URL(u).searchParams.get('play'); return !!sid && sid !== before; });
  return new URL(page.url()).searchParams.get('play');
}

async function children(sid) {
  const tree = await rpc(suite.baseUrl(), 'LogicService.play_tree', { play_sid: sid });
  const bySid = Object.fromEntries(tree.descendants.map((p) => [p.sid, p]));
  return tree.play.sub_play_sids.map((s) => bySid[s]);
}

describe('durable runs in the admin', () => {
  test('a sleeping Play shows when it wakes; Wake now wakes it, Cancel ends it', async () => {
    const play = await sleeping();
    const wakeAt = play.pending_resumes[0].ui.wake_at;
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/ui_nap?play=${play.sid}`));
    const card = page.locator('#pause-forms .timer-card');
    await card.waitFor();
    assert.match(await card.locator('.wake-in').textContent(), /in (9|10) min/);
    assert.equal(await card.locator('time.wake-at').getAttribute('datetime'), new Date(wakeAt).toISOString());
    assert.match(await page.locator('#panel-flow .flow-pause .flow-kind').textContent(), /sleeps/, 'the flow marks the sleep');
    await page.locator('#tab-tree').click();
    assert.match(await page.locator('#panel-tree .node-flag.sleeps').textContent(), /sleeps until \d\d:\d\d/);
    assert.equal(await page.locator('#panel-tree .node-flag.asks').count(), 0, 'a sleep is not a question for a person');
    await screenshot(page, 'sleep-card');
    await card.locator('button[data-action="wake"]').click();
    await waitForOverlayStatus(page, 'success');
    const done = await rpc(suite.baseUrl(), 'LogicService.play_status', { play_sid: play.sid });
    assert.equal(done.output_data.slept, true);
    assert.ok(done.completed_at < wakeAt, 'woken long before its time');

    const other = await sleeping();
    await page.goto(url(`/logics/ui_nap?play=${other.sid}`));
    await card.waitFor();
    await card.locator('button[data-action="cancel"]').click();
    await waitForOverlayStatus(page, 'cancelled');
    assert.deepEqual(errors, []);
  });

  test('Re-run starts the same inputs again as a new Play and opens it', async () => {
    const first = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'ui_three', inputs: { who: 'R' } });
    await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: first.sid, timeout_ms: 20000 });
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/ui_three?play=${first.sid}`));
    await waitForOverlayStatus(page, 'success');
    await page.locator('#rerun-button').click();
    const again = await openedPlay(page, first.sid);
    await waitForOverlayStatus(page, 'success');
    const play = await rpc(suite.baseUrl(), 'LogicService.play_status', { play_sid: again });
    assert.equal(play.parent_play_sid, '');
    assert.deepEqual(play.input_data, { who: 'R' });
    assert.deepEqual((await children(again)).map((c) => c.replayed), [false, false, false], 'a re-run runs every step');
    assert.deepEqual(errors, []);
  });

  test('Re-run from here on a flow node and on a tree node forks from that step', async () => {
    const first = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'ui_three', inputs: { who: 'F' } });
    await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: first.sid, timeout_ms: 20000 });
    const steps = await children(first.sid);
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/ui_three?play=${first.sid}`));
    await waitForOverlayStatus(page, 'success');
    const forks = page.locator('#panel-flow .fork-button');
    await forks.first().waitFor();
    assert.equal(await forks.count(), 3, 'one per step of the run');
    await screenshot(page, 'flow-rerun-from-here');
    await page.locator(`#panel-flow .fork-button[data-step="${steps[2].step_key}"]`).click();
    const fromThird = await openedPlay(page, first.sid);
    await waitForOverlayStatus(page, 'success');
    assert.deepEqual((await children(fromThird)).map((c) => c.replayed), [true, true, false]);

    await page.goto(url(`/logics/ui_three?play=${first.sid}`));
    await waitForOverlayStatus(page, 'success');
    await page.locator('#tab-tree').click();
    await page.locator(`#panel-tree .fork-button[data-step="${steps[1].step_key}"]`).click();
    const fromSecond = await openedPlay(page, first.sid);
    await waitForOverlayStatus(page, 'success');
    assert.deepEqual((await children(fromSecond)).map((c) => c.replayed), [true, false, false]);
    assert.deepEqual(errors, []);
  });
});
