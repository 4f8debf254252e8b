// The logic view's play bar (resizable, foldable, remembered) and copy buttons, at 1280x720,
// in a real browser against a real daemon and admin.
// Run: cd testcases && node --test tests/playbar.test.mjs (after cargo build --workspace).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { SCREENSHOT_DIR, assertNoConsoleErrors, browserSuite, rpc, screenshot } from '../lib/harness.mjs';

const VIEWPORT = { width: 1280, height: 720 };
const suite = browserSuite(VIEWPORT);
const newPage = suite.newPage;
const url = suite.url;

before(async () => {
  await suite.ready;
  process.stdout.write(`# screenshots: ${SCREENSHOT_DIR}\n`);
  await rpc(suite.baseUrl(), 'LogicService.logic_create', {
    name: 'pb_steps',
    python_source: [
      'from hero_tracing import logic', '', '',
      '@logic(name="pb_steps", inputs={"word": "string"}, outputs={"shout": "string"})',
      'def pb_steps(word):',
      '    a = word.strip()',
      '    b = a.upper()',
      '    c = b + "!"',
      '    d = c * 2',
      '    if word == "boom":',
      '        raise ValueError("the word was boom")',
      '    return {"shout": d}', '',
    ].join('\n'),
  });
});

async function barHeight(page) {
  return (await page.locator('.playbar').boundingBox()).height;
}

async function assertRunVisible(page) {
  const box = await page.locator('#run-button').boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= VIEWPORT.height, `Run is inside the viewport: ${JSON.stringify(box)}`);
  const onTop = await page.evaluate(({ x, y }) => !!document.elementFromPoint(x, y)?.closest('#run-button'),
    { x: box.x + box.width / 2, y: box.y + box.height / 2 });
  assert.ok(onTop, 'nothing covers Run');
}

describe('play bar', () => {
  test('drags smaller, folds to its headers with Run still visible, and is remembered', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/pb_steps'));
    await page.locator('#playbar-resize').waitFor();
    const start = await barHeight(page);
    assert.ok(start / VIEWPORT.height > 0.35, `the default bar is large: ${start}px`);
    const centerBefore = (await page.locator('.center').boundingBox()).height;

    const handle = await page.locator('#playbar-resize').boundingBox();
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2 + 130, { steps: 5 });
    await page.mouse.up();
    const dragged = await barHeight(page);
    assert.ok(Math.abs(dragged - (start - 130)) <= 3, `dragging down 130px shrinks the bar: ${start} -> ${dragged}`);
    assert.ok((await page.locator('.center').boundingBox()).height > centerBefore + 120, 'the flow gets the room');
    await assertRunVisible(page);
    await screenshot(page, 'playbar-dragged');

    await page.reload();
    await page.locator('#playbar-resize').waitFor();
    assert.ok(Math.abs((await barHeight(page)) - dragged) <= 3, 'the height is remembered');

    await page.locator('#playbar-toggle').click();
    const folded = await barHeight(page);
    assert.ok(folded < 110, `folded, the bar keeps only its headers and Run: ${folded}px`);
    assert.equal(await page.locator('#playbar-toggle').getAttribute('aria-expanded'), 'false');
    await assertRunVisible(page);
    await screenshot(page, 'playbar-folded');
    await page.reload();
    await page.locator('#playbar-toggle').waitFor();
    assert.ok((await barHeight(page)) < 110, 'folded is remembered');

    // Run still works folded: the Play runs and the bar unfolds to show nothing lost.
    await page.locator('#playbar-toggle').click();
    assert.ok(Math.abs((await barHeight(page)) - dragged) <= 3, 'unfolding restores the dragged height');
    // Keyboard resizing for those who do not drag.
    await page.locator('#playbar-resize').focus();
    await page.keyboard.press('ArrowUp');
    assert.ok((await barHeight(page)) > dragged + 10, 'ArrowUp grows the bar');
    assertNoConsoleErrors(errors);
  });
});

describe('copy buttons', () => {
  test('copy an output, the inputs and a traceback exactly', async () => {
    const { page, context, errors } = await newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.baseUrl() });
    const ok = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'pb_steps', inputs: { word: 'hi' } });
    await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: ok.sid, timeout_ms: 60000 });
    await page.goto(url(`/logics/pb_steps?play=${ok.sid}`));
    const card = page.locator('.out-card[data-output=shout]');
    await card.locator('.out-value', { hasText: 'HI!HI!' }).waitFor();
    await card.locator('.copy-btn').click();
    await assert.doesNotReject(card.locator('.copy-btn', { hasText: 'Copied' }).waitFor());
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), '"HI!HI!"');

    await page.locator('#copy-inputs').click();
    assert.deepEqual(JSON.parse(await page.evaluate(() => navigator.clipboard.readText())), { word: 'hi' });

    const bad = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'pb_steps', inputs: { word: 'boom' } });
    await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: bad.sid, timeout_ms: 60000 });
    await page.goto(url(`/logics/pb_steps?play=${bad.sid}`));
    const error = page.locator('.error-card');
    await error.locator('.copy-btn').click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, /ValueError: the word was boom/);
    assert.match(copied, /Traceback|File "/, `the traceback is copied too:\n${copied}`);
    await screenshot(page, 'copy-traceback');
    assertNoConsoleErrors(errors);
  });
});
