// End-to-end tests of the web admin in a real browser, against a real daemon and admin.
// Run: cd testcases && npm ci && npm test (after cargo build --workspace).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { SCREENSHOT_DIR, authHeaders, launchBrowser, openMappingTo, openPage, resetScreenshots, rpc, screenshot, startStack } from '../lib/harness.mjs';

let stack;
let browser;
const pages = [];

before(async () => {
  resetScreenshots();
  process.stdout.write(`# screenshots: ${SCREENSHOT_DIR}\n`);
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  for (const { context } of pages) await context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.stop();
  process.stdout.write(`# screenshots: ${SCREENSHOT_DIR}\n`);
});

async function newPage(viewport) {
  const opened = await openPage(browser, viewport, stack);
  pages.push(opened);
  return opened;
}

function url(path) { return stack.baseUrl + path; }

function assertNoConsoleErrors(errors) {
  assert.deepEqual(errors, [], `console errors:\n${errors.join('\n')}`);
}

/** The ▶ Run button is inside the viewport and nothing covers it. */
async function assertRunVisible(page) {
  const run = page.locator('#run-button');
  await run.waitFor({ state: 'visible' });
  const box = await run.boundingBox();
  const viewport = page.viewportSize();
  assert.ok(box, 'Run has a box');
  assert.ok(box.x >= 0 && box.y >= 0, `Run starts inside the viewport: ${JSON.stringify(box)}`);
  assert.ok(box.x + box.width <= viewport.width && box.y + box.height <= viewport.height,
    `Run ends inside the ${viewport.width}x${viewport.height} viewport: ${JSON.stringify(box)}`);
  const onTop = await page.evaluate(({ x, y }) => {
    const hit = document.elementFromPoint(x, y);
    return !!hit && !!hit.closest('#run-button');
  }, { x: box.x + box.width / 2, y: box.y + box.height / 2 });
  assert.ok(onTop, 'nothing covers Run');
}

/** Every visible control has an accessible name (a label, aria-label(ledby), text or title). */
async function assertControlsNamed(page) {
  const unnamed = await page.evaluate(() => {
    const bad = [];
    for (const c of document.querySelectorAll('input, select, textarea, button, summary, a[href]')) {
      if (c.type === 'hidden' || c.closest('[hidden]')) continue;
      const named = (c.labels && c.labels.length) || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby')
        || (c.textContent || '').trim() || c.getAttribute('title');
      if (!named) bad.push(c.outerHTML.slice(0, 120));
    }
    return bad;
  });
  assert.deepEqual(unnamed, [], `controls without a name on ${page.url()}:\n${unnamed.join('\n')}`);
}

/** Replaces the code view's text (CodeMirror when the bundle is built, else the text area). */
async function setCode(page, text) {
  const cm = page.locator('#code-editor .cm-content');
  if (await cm.count()) {
    await cm.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(text);
  } else {
    await page.locator('#code-text').fill(text);
  }
}

async function getCode(page) {
  if (await page.locator('#code-editor .cm-content').count()) {
    return (await page.locator('#code-editor .cm-line').allTextContents()).join('\n');
  }
  return page.locator('#code-text').inputValue();
}

async function waitForOverlayStatus(page, status, timeout = 20000) {
  await page.locator(`#stats .pill.status-${status}`).waitFor({ timeout });
}

async function overlaidPlaySid(page) {
  await page.waitForURL(/[?&]play=/);
  return new URL(page.url()).searchParams.get('play');
}

describe('dashboard', () => {
  test('lists the seed logics with their latest run, success rate and runs', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/'));
    await assert.doesNotReject(page.locator('table.logics').waitFor());
    const names = await page.locator('table.logics td.name > a').allTextContents();
    for (const seed of ['greeting', 'approval_flow', 'fib', 'text_pipeline', 'always_fails']) {
      assert.ok(names.includes(seed), `${seed} is listed: ${names.join(', ')}`);
    }
    assert.equal(await page.locator('th', { hasText: 'Success (last 50)' }).count(), 1);
    await screenshot(page, 'dashboard');
    await assertControlsNamed(page);

    await page.getByRole('searchbox', { name: 'Search Logics' }).fill('greet');
    await page.getByRole('searchbox', { name: 'Search Logics' }).press('Enter');
    await page.waitForURL(/\?q=greet/);
    const found = await page.locator('table.logics td.name > a').allTextContents();
    assert.ok(found.includes('greeting'), `search finds greeting: ${found}`);
    assert.ok(!found.includes('fib'), 'search leaves fib out');
    await screenshot(page, 'dashboard-search');
    assertNoConsoleErrors(errors);
  });

  test('run counts include child Plays, on the dashboard and in the Plays menu alike', async () => {
    // fib(3) runs fib four more times as child Plays: five Plays of fib, one top-level.
    const play = await rpc(stack.baseUrl, 'LogicService.play_start', { logic: 'fib', inputs: { n: 3 } });
    await rpc(stack.baseUrl, 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 20000 });
    const { page, errors } = await newPage();
    await page.goto(url('/?q=fib'));
    const row = page.locator('table.logics tbody tr', { has: page.locator('td.name > a', { hasText: /^fib$/ }) });
    const runs = (await row.locator('td.num').last().textContent()).trim();
    assert.ok(Number(runs) >= 5, `the dashboard counts fib's child Plays: ${runs}`);
    await page.goto(url('/logics/fib'));
    await page.waitForFunction(() => document.getElementById('plays-count').textContent !== '');
    assert.equal(await page.locator('#plays-count').textContent(), `(${runs})`, 'the Plays menu counts the same Plays');
    await page.locator('#plays-menu summary').click();
    assert.ok(await page.locator('#plays-pop button.menu-item', { hasText: 'inside Play ' + play.sid }).count() >= 2,
      'child Plays are listed, marked as such');
    assertNoConsoleErrors(errors);
  });
});

describe('logic view', () => {
  test('+ New Logic creates a logic from the template and opens its view', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/'));
    await page.getByRole('link', { name: '+ New Logic' }).click();
    await page.waitForURL(/\/logics\/new$/);
    // A name the daemon refuses (taken) comes back with its message and hint, the typing kept.
    await page.getByLabel('Name').fill('greeting');
    await page.getByRole('button', { name: 'Create Logic' }).click();
    await assert.doesNotReject(page.locator('#create-error', { hasText: 'already exists' }).waitFor());
    assert.equal(await page.getByLabel('Name').inputValue(), 'greeting');
    assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'new-logic-refused');
    await page.getByLabel('Name').fill('ui_shout');
    await page.getByLabel('Description').fill('Shouts the text back');
    await page.getByLabel('Tags').fill('demo, ui');
    const source = await page.locator('#nl-source').inputValue();
    assert.match(source, /name="ui_shout"/, 'the template follows the name typed');
    assert.match(source, /def ui_shout\(text: str\)/);
    await screenshot(page, 'new-logic');
    await assertControlsNamed(page);
    await page.getByRole('button', { name: 'Create Logic' }).click();
    await page.waitForURL(/\/logics\/[0-9a-z]+$/);
    await assert.doesNotReject(page.locator('h1.logic-title', { hasText: 'ui_shout' }).waitFor());
    await page.locator('#in-text').waitFor();
    await assertRunVisible(page);

    await page.locator('#in-text').fill('  hello there  ');
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'success');
    const result = page.locator('#output [data-output="result"] .out-value');
    assert.equal(await result.textContent(), 'hello there');
    await screenshot(page, 'new-logic-ran');

    await page.goto(url('/?tag=ui'));
    assert.deepEqual(await page.locator('table.logics td.name > a').allTextContents(), ['ui_shout']);
    assertNoConsoleErrors(errors);
  });

  test('greeting: typed inputs are checked, Enter in the last field runs, the output card shows', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/greeting'));
    await page.locator('#in-name').waitFor();
    await assertRunVisible(page);
    await screenshot(page, 'greeting-idle');

    // A required input left empty is refused before anything is started.
    await page.locator('#run-button').click();
    await assert.doesNotReject(page.locator('#in-name-err', { hasText: 'required' }).waitFor());
    assert.equal(await page.locator('#in-name').getAttribute('aria-invalid'), 'true');
    assert.ok(!page.url().includes('play='), 'nothing ran');

    await page.locator('#in-name').fill('Ada');
    await page.locator('#in-greeting').fill('Hi');
    await page.locator('#in-greeting').press('Enter');
    const sid = await overlaidPlaySid(page);
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Hi, Ada!');
    assert.equal(await page.locator('#panel-tree .node-root .node-sid').textContent(), sid);
    assert.ok(await page.locator('#trace .tr-end.status-success').count() >= 1, 'the trace shows the end');
    await screenshot(page, 'greeting-success');

    // The URL shares: a reload shows the same Play.
    await page.reload();
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Hi, Ada!');
    assert.equal(await page.locator('#in-name').inputValue(), 'Ada', 'inputs are prefilled from the Play');
    assertNoConsoleErrors(errors);
  });

  test('approval_flow: the confirm is answered in the page and the run finishes, with no polling', async () => {
    const { page, errors } = await newPage();
    const rpcCalls = [];
    page.on('request', (req) => {
      if (req.url().endsWith('/rpc')) rpcCalls.push(JSON.parse(req.postData() || '{}').method);
    });
    await page.goto(url('/logics/approval_flow'));
    await page.locator('#in-recipient').fill('Grace');
    await page.locator('#run-button').click();
    const sid = await overlaidPlaySid(page);
    const form = page.locator('#pause-forms form.pause-form[data-kind="confirm"]');
    await form.waitFor();
    assert.match(await form.locator('.pause-prompt').textContent(), /Send this message\?/);
    await waitForOverlayStatus(page, 'awaiting_resume');
    await assertRunVisible(page);
    await screenshot(page, 'approval-asks');
    await assertControlsNamed(page);

    // Sitting on a waiting Play must not make the page call the daemon again and again.
    const before = rpcCalls.length;
    await page.waitForTimeout(1500);
    assert.ok(rpcCalls.length - before <= 1, `no polling while waiting: ${rpcCalls.slice(before).join(', ')}`);

    await form.getByRole('button', { name: 'Yes' }).click();
    await waitForOverlayStatus(page, 'success');
    await assert.doesNotReject(form.waitFor({ state: 'detached' }));
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Hello, Grace!');
    assert.equal(await page.locator('#output [data-output="approved"] .out-value').textContent(), 'true');
    assert.ok(await page.locator('#panel-tree .node-flag.replayed').count() >= 1, 'the greeting step shows as replayed');
    assert.ok(await page.locator('#panel-flow .flow-play.flow-replayed .flow-replay-mark').count() >= 1, 'the flow dashes the replayed child with ↻');
    const played = rpcCalls.filter((m) => m === 'LogicService.play_resume');
    assert.equal(played.length, 1, 'one answer posted');
    assert.equal(new URL(page.url()).searchParams.get('play'), sid);
    await screenshot(page, 'approval-done');
    assertNoConsoleErrors(errors);
  });

  test('a nested question (choice, two levels down) is answered at the Play that asked', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/pick_plan'));
    await page.locator('#run-button').click();
    const form = page.locator('#pause-forms form.pause-form[data-kind="choice"]');
    await form.waitFor();
    const asker = await form.getAttribute('data-play');
    const root = await overlaidPlaySid(page);
    assert.notEqual(asker, root, 'the question belongs to the child Play that asked it');
    // The daemon judges answers: nothing picked is sent, and its refusal shows on the form.
    await form.getByRole('button', { name: 'Submit answer' }).click();
    await assert.doesNotReject(form.locator('.pause-error', { hasText: 'one of the options' }).waitFor());
    await form.getByLabel('pro').check();
    await screenshot(page, 'pick-plan-choice');
    await form.getByRole('button', { name: 'Submit answer' }).click();
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="plan"] .out-value').textContent(), 'pro');
    // The tree keeps its nesting: pick_plan > plan_step > choose_option, each with a status dot.
    const nested = page.locator('#panel-tree li.node-root > ul > li.node > ul > li.node');
    assert.equal(await nested.locator('.node-name').first().textContent(), 'choose_option');
    assert.equal(await page.locator('#panel-tree .node .dot').count(), 3);
    assert.ok(await page.locator('#trace .tr-end').count() >= 3, 'every Play\'s end is a trace row');
    // Drilling into a child Play opens its Logic's view with a breadcrumb back up.
    await page.locator('#tab-tree').click();
    await page.locator('#panel-tree a.node-name', { hasText: 'choose_option' }).click();
    await page.waitForURL(new RegExp(`play=${asker}`));
    await waitForOverlayStatus(page, 'success');
    const crumbs = await page.locator('#breadcrumb a').allTextContents();
    assert.deepEqual(crumbs, ['Logics', 'pick_plan', 'plan_step']);
    await screenshot(page, 'child-play-breadcrumb');
    await page.goBack();
    await page.waitForURL(new RegExp(`play=${root}`));
    await waitForOverlayStatus(page, 'success');
    assertNoConsoleErrors(errors);
  });

  test('flow: the static graph with the Play overlaid; drill into a child and back by breadcrumb', async () => {
    const started = await rpc(stack.baseUrl, 'LogicService.play_start', { logic: 'text_pipeline', inputs: { text: 'the cat and the hat', top_n: 2 } });
    await rpc(stack.baseUrl, 'LogicService.play_wait', { play_sid: started.sid, timeout_ms: 20000 });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/text_pipeline'));
    // Idle: the Flow tab is the default and draws the latest Play over the static graph.
    assert.equal(await page.locator('#tab-flow').getAttribute('aria-selected'), 'true');
    const flow = page.locator('#panel-flow');
    await flow.locator('.flow-play.status-success').first().waitFor();
    for (const target of ['normalize_text', 'word_stats', 'summarize_stats']) {
      assert.equal(await flow.locator(`.flow-invoke[data-target="${target}"] .flow-play.status-success`).count(), 1, `${target} is filled`);
    }
    assert.ok((await page.locator('#flow-head').textContent()).includes(started.sid), 'the latest Play is the one drawn');
    await screenshot(page, 'flow-idle-latest');

    // A node's label shows its source line.
    await flow.locator('.flow-invoke[data-target="word_stats"] .flow-label').click();
    await assert.doesNotReject(page.locator('#flow-line code', { hasText: 'word_stats' }).waitFor());

    // A child Play opens its own Logic with the breadcrumb of its ancestors.
    const child = flow.locator('.flow-invoke[data-target="word_stats"] a.flow-play');
    const childSid = await child.getAttribute('data-play');
    await child.click();
    await page.waitForURL(new RegExp(`/logics/[0-9a-z]+\\?play=${childSid}$`));
    await waitForOverlayStatus(page, 'success');
    assert.deepEqual(await page.locator('#breadcrumb a').allTextContents(), ['Logics', 'text_pipeline']);
    await screenshot(page, 'flow-child');
    await page.locator('#breadcrumb a', { hasText: 'text_pipeline' }).click();
    await page.waitForURL(new RegExp(`play=${started.sid}$`));
    await waitForOverlayStatus(page, 'success');
    await flow.locator('.flow-invoke[data-target="summarize_stats"] .flow-play.status-success').waitFor();
    assert.ok(!(await page.locator('#flow-head').textContent()).includes('latest'), 'the parent\'s Play is overlaid');
    assertNoConsoleErrors(errors);
  });

  test('flow: calls in a loop stack as attempts; the branch not taken is dim', async () => {
    const source = [
      'from hero_tracing import logic',
      '',
      '',
      '@logic(name="ui_loop", inputs={"n": {"type": "integer", "default": 3}}, outputs={"messages": {"type": "array"}})',
      'def ui_loop(n: int = 3) -> dict:',
      '    messages = []',
      '    for i in range(n):',
      '        messages.append(logic.invoke("greeting", name=f"P{i}")["message"])',
      '    if n > 100:',
      '        logic.invoke("fib", n=1)',
      '    else:',
      '        logic.invoke("normalize_text", text="A b")',
      '    return {"messages": messages}',
      '',
    ].join('\n');
    await rpc(stack.baseUrl, 'LogicService.logic_create', { name: 'ui_loop', python_source: source });
    const play = await rpc(stack.baseUrl, 'LogicService.play_start', { logic: 'ui_loop', inputs: { n: 3 } });
    await rpc(stack.baseUrl, 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 20000 });
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/ui_loop?play=${play.sid}`));
    await waitForOverlayStatus(page, 'success');
    const attempts = page.locator('#panel-flow .flow-loop .flow-invoke[data-target="greeting"] .flow-play');
    await attempts.first().waitFor();
    assert.equal(await attempts.count(), 3, 'three calls stacked in the loop');
    assert.match(await attempts.nth(2).textContent(), /attempt 3/);
    const branches = page.locator('#panel-flow .flow-if .flow-branch');
    assert.equal(await branches.count(), 2);
    assert.ok(await branches.nth(0).evaluate((b) => b.classList.contains('flow-dim')), 'the if branch was not taken');
    assert.ok(!(await branches.nth(1).evaluate((b) => b.classList.contains('flow-dim'))), 'the else branch ran');
    await screenshot(page, 'flow-loop-branches');
    assertNoConsoleErrors(errors);
  });

  test('flow: a fan-out draws its branches side by side in one node', async () => {
    const source = [
      'from hero_tracing import logic',
      '',
      '',
      '@logic(name="ui_fan", outputs={"messages": {"type": "array"}})',
      'def ui_fan() -> dict:',
      '    outs = logic.map("greeting", [{"name": f"F{i}"} for i in range(4)])',
      '    return {"messages": [o["message"] for o in outs]}',
      '',
    ].join('\n');
    await rpc(stack.baseUrl, 'LogicService.logic_create', { name: 'ui_fan', python_source: source });
    const play = await rpc(stack.baseUrl, 'LogicService.play_start', { logic: 'ui_fan', inputs: {} });
    await rpc(stack.baseUrl, 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 20000 });
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/ui_fan?play=${play.sid}`));
    await waitForOverlayStatus(page, 'success');
    const node = page.locator('#panel-flow .flow-invoke[data-target="greeting"]');
    await node.locator('.flow-play').first().waitFor();
    assert.equal(await node.locator('.flow-parallel .flow-play').count(), 4, 'every branch in the one map node');
    assert.match(await node.locator('.flow-kind').textContent(), /side by side/);
    const tops = await node.locator('.flow-play').evaluateAll((chips) => chips.map((c) => c.getBoundingClientRect().top));
    assert.ok(tops.every((t) => Math.abs(t - tops[0]) < 2), `branches on one row: ${tops}`);
    await screenshot(page, 'flow-fan-out');
    assertNoConsoleErrors(errors);
  });

  test('code: edit, save a new version and run it; a syntax error shows at its line and the text stays', async () => {
    const source = (suffix) => [
      'from hero_tracing import logic',
      '',
      '',
      '@logic(name="ui_code", inputs={"text": {"type": "string", "required": True}}, outputs={"out": {"type": "string"}})',
      'def ui_code(text: str) -> dict:',
      `    return {"out": text${suffix}}`,
      '',
    ].join('\n');
    await rpc(stack.baseUrl, 'LogicService.logic_create', { name: 'ui_code', python_source: source('.upper()') });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/ui_code'));
    await page.locator('#tab-source').click();
    await page.locator('#code-editor[data-editor]').waitFor();
    assert.ok((await getCode(page)).includes('text.upper()'), 'the current source is in the editor');

    await setCode(page, source(' + "!"'));
    await page.locator('#code-save').click();
    await page.locator('#code-label').fill('v2');
    await page.locator('#code-notes').fill('adds a bang');
    await screenshot(page, 'code-edit-save');
    await page.locator('#code-save-submit').click();
    await page.waitForURL(/[?&]tab=code/);
    await page.locator('#code-editor[data-editor]').waitFor();
    assert.equal(await page.locator('#tab-source').getAttribute('aria-selected'), 'true');
    assert.ok((await getCode(page)).includes('text + "!"'), 'the new version is shown');
    assert.ok(await page.locator('.version-list li.current .vlabel', { hasText: 'v2' }).count() === 1, 'v2 is current');
    await page.locator('#in-text').fill('abc');
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="out"] .out-value').textContent(), 'abc!');

    // A syntax error is refused, marked at its line, and the text stays as typed.
    const broken = source('.upper()').replace('def ui_code(text: str) -> dict:', 'def ui_code(text: str -> dict:');
    await page.locator('#tab-source').click();
    await setCode(page, broken);
    await page.locator('#code-save').click();
    await page.locator('#code-save-submit').click();
    await page.locator('#code-error').waitFor();
    assert.match(await page.locator('#code-error').textContent(), /Line 5/);
    assert.equal(await page.locator('#code-editor').getAttribute('data-error-line'), '5');
    assert.equal(await getCode(page), broken, 'the text survives the refusal');
    await screenshot(page, 'code-syntax-error');

    // Split: flow and code side by side; a flow label scrolls the code to its line.
    await page.locator('#split-toggle').click();
    assert.ok(await page.locator('#panel-flow').isVisible() && await page.locator('#panel-source').isVisible(), 'both panels show');
    await page.locator('#panel-flow .flow-return .flow-label').click();
    if (await page.locator('#code-editor .cm-content').count()) {
      await assert.doesNotReject(page.locator('#code-editor .cm-activeLine', { hasText: 'return {"out"' }).waitFor());
    } else {
      const line = await page.locator('#code-text').evaluate((t) => t.value.slice(0, t.selectionStart).split('\n').length);
      assert.equal(line, 6, 'the caret of the text area is on the return line');
    }
    await screenshot(page, 'code-split');
    assertNoConsoleErrors(errors);
  });

  test('code: a source declaring two logics is offered a split; split, each runs as its own Logic', async () => {
    const single = [
      'from hero_tracing import logic',
      '',
      '@logic(name="ui_multi", inputs={"text": "string"}, outputs={"out": "string"})',
      'def ui_multi(text):',
      '    return {"out": text}',
      '',
    ].join('\n');
    const double = [
      'from hero_tracing import logic',
      '',
      '@logic(name="ui_helper", inputs={"x": "string"}, outputs={"y": "string"})',
      'def ui_helper(x):',
      '    return {"y": x + "?"}',
      '',
      '@logic(name="ui_multi", inputs={"text": "string"}, outputs={"out": "string"})',
      'def ui_multi(text):',
      '    return {"out": ui_helper(text)["y"]}',
      '',
    ].join('\n');
    await rpc(stack.baseUrl, 'LogicService.logic_create', { name: 'ui_multi', python_source: single });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/ui_multi'));
    await page.locator('#tab-source').click();
    await page.locator('#code-editor[data-editor]').waitFor();
    await setCode(page, double);
    await page.locator('#code-save').click();
    await page.locator('#code-save-submit').click();
    const offer = page.locator('#code-split-offer');
    await offer.waitFor();
    assert.match(await page.locator('#code-split-text').textContent(), /declares 2 logics/);
    assert.equal(await page.locator('#code-split-parts li').count(), 2, 'both logics are listed');
    await screenshot(page, 'code-split-offer');
    await page.locator('#code-split-do').click();
    await page.waitForURL(/[?&]tab=code/);
    await page.locator('#code-editor[data-editor]').waitFor();
    const code = await getCode(page);
    assert.ok(code.includes('logic.invoke("ui_helper"'), 'the new version calls the split-out logic by name: ' + code);
    assert.ok(!code.includes('def ui_helper'), 'the helper moved out');
    const helper = await rpc(stack.baseUrl, 'logic.find', { name: 'ui_helper' });
    assert.equal(helper.items.length, 1, 'ui_helper is a Logic of its own');
    await page.locator('#in-text').fill('ab');
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="out"] .out-value').textContent(), 'ab?');
    assertNoConsoleErrors(errors);
  });

  test('versions: the viewed version switches flow, code, fields and stats; Make current', async () => {
    const source = (extra) => [
      'from hero_tracing import logic',
      '',
      '',
      `@logic(name="ui_viewed", inputs={"text": {"type": "string"}${extra ? ', "count": {"type": "integer", "default": 2}' : ''}}, outputs={"out": {"type": "string"}})`,
      `def ui_viewed(text: str = ""${extra ? ', count: int = 2' : ''}) -> dict:`,
      `    return {"out": text${extra ? ' * count' : ''}}`,
      '',
    ].join('\n');
    await rpc(stack.baseUrl, 'LogicService.logic_create', { name: 'ui_viewed', python_source: source(false), version_label: 'v1' });
    await rpc(stack.baseUrl, 'LogicService.logic_create_version', { logic: 'ui_viewed', python_source: source(true), version_label: 'v2', make_current: true });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/ui_viewed'));
    await page.locator('#code-editor[data-editor]').waitFor({ state: 'attached' });
    assert.ok((await page.locator('#side-inputs').textContent()).includes('count'), 'v2 declares count');
    await page.locator('.version-btn', { hasText: 'v1' }).click();
    await assert.doesNotReject(page.locator('#flow-head strong', { hasText: 'v1' }).waitFor());
    assert.ok(!(await page.locator('#side-inputs').textContent()).includes('count'), 'v1 does not declare count');
    await assert.doesNotReject(page.locator('#h-version-stats', { hasText: 'v1' }).waitFor());
    await page.locator('#tab-source').click();
    await page.waitForFunction(() => document.querySelector('#code-tab-label').textContent === 'v1');
    assert.ok(!(await getCode(page)).includes('count'), 'the code is v1\'s');
    await screenshot(page, 'version-v1-viewed');
    await page.locator('#make-current').click();
    await page.waitForURL(/version=/);
    await assert.doesNotReject(page.locator('.version-list li.current .vlabel', { hasText: 'v1' }).waitFor());
    assert.ok(await page.locator('#make-current-row').isHidden(), 'the current version needs no button');
    assertNoConsoleErrors(errors);
  });

  test('mapping: a bound version with a rename and a literal, an invalid row refused on the row, then run', async () => {
    await rpc(stack.baseUrl, 'LogicService.logic_create', {
      name: 'ui_bound',
      python_source: 'from hero_tracing import logic\n\n\n@logic(name="ui_bound")\ndef ui_bound() -> dict:\n    return {}\n',
    });
    const { page, errors } = await newPage();
    await openMappingTo(page, url('/logics/ui_bound'), 'greeting');
    const nameRow = page.locator('#map-inputs tr.map-row[data-target="name"]');
    await nameRow.waitFor();
    assert.equal(await nameRow.locator('input').inputValue(), 'inputs.name', 'identity rows are filled in');
    assert.ok(await nameRow.evaluate((tr) => tr.classList.contains('map-identity')), 'identity rows are dim');
    assert.equal(await page.locator('#map-outputs tr.map-row[data-target="message"] input').inputValue(), 'outputs.message');

    // An invalid source is refused and named on its row.
    await nameRow.locator('input').fill('nonsense.who');
    assert.ok(await nameRow.evaluate((tr) => tr.classList.contains('map-changed')), 'changed rows are highlighted');
    await page.locator('#code-save').click();
    await page.locator('#code-save-submit').click();
    await assert.doesNotReject(nameRow.locator('.map-err').filter({ hasText: /./ }).waitFor());
    await screenshot(page, 'mapping-invalid-row');

    // Reset, then a rename and a literal.
    await page.locator('#map-reset').click();
    assert.equal(await nameRow.locator('input').inputValue(), 'inputs.name');
    await nameRow.locator('input').fill('inputs.who');
    await page.locator('#map-inputs tr.map-row[data-target="greeting"] input').fill('literal:Howdy');
    await screenshot(page, 'mapping-rename-literal');
    await page.locator('#code-save-submit').click();
    await page.waitForURL(/[?&]tab=code/);
    await assert.doesNotReject(page.locator('#map-inputs tr.map-row[data-target="greeting"].map-changed').waitFor());
    await page.locator('#in-who').fill('Ada');
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Howdy, Ada!');
    await screenshot(page, 'mapping-ran');
    assertNoConsoleErrors(errors);
  });

  test('an old Play from the recent list overlays; back returns to the newer one', async () => {
    const old = await rpc(stack.baseUrl, 'LogicService.play_start', { logic: 'greeting', inputs: { name: 'Old Ada', greeting: 'Hi' } });
    await rpc(stack.baseUrl, 'LogicService.play_wait', { play_sid: old.sid, timeout_ms: 10000 });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/greeting'));
    await page.locator('#in-name').fill('Bob');
    await page.locator('#run-button').click();
    const newer = await overlaidPlaySid(page);
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Hello, Bob!');

    await page.locator('#plays-menu summary').click();
    const items = page.locator('#plays-pop button.menu-item');
    assert.ok(await items.count() >= 2, 'both runs are listed');
    await screenshot(page, 'recent-plays');
    await page.locator(`#plays-pop button.menu-item[data-play="${old.sid}"]`).click();
    await page.waitForURL(new RegExp(`play=${old.sid}`));
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Hi, Old Ada!');
    assert.equal(await page.locator('#in-name').inputValue(), 'Old Ada', 'inputs are prefilled from the old Play');
    await screenshot(page, 'old-play-overlay');

    await page.goBack();
    await page.waitForURL(new RegExp(`play=${newer}`));
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Hello, Bob!');
    await page.locator('#close-overlay').click();
    await page.waitForURL((u) => !u.search.includes('play='));
    await page.locator('#tab-tree').click();
    await page.locator('#show-latest').waitFor();
    assertNoConsoleErrors(errors);
  });

  test('every input widget kind is typed, and every question kind is answered in the page', async () => {
    await rpc(stack.baseUrl, 'LogicService.logic_create', {
      name: 'ui_kinds', description: 'Typed inputs of every kind, then a text, a number and a multi_choice question',
      python_source: [
        'from typing import Literal',
        'from hero_tracing import ask_user, logic',
        '',
        '',
        '@logic(name="ui_kinds", outputs={"echo": "object", "note": "string", "score": "integer", "picks": "array"})',
        'def ui_kinds(count: int, ratio: float, flag: bool, config: dict, items: list, size: Literal["s", "m", "l"] = "m") -> dict:',
        '    note = ask_user.text("Any note?", placeholder="a few words", multiline=True)',
        '    score = ask_user.number("Score?", integer=True, min=0, max=10)',
        '    picks = ask_user.multi_choice("Which toppings?", ["cheese", "ham", "olives"], min=1, max=2)',
        '    echo = {"count": count, "ratio": ratio, "flag": flag, "config": config, "items": items, "size": size}',
        '    return {"echo": echo, "note": note, "score": score, "picks": picks}',
        '',
      ].join('\n'),
    });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/ui_kinds'));
    await page.locator('#in-count').waitFor();
    assert.equal(await page.locator('#in-count').getAttribute('type'), 'number');
    assert.equal(await page.locator('#in-count').getAttribute('step'), '1');
    assert.equal(await page.locator('#in-ratio').getAttribute('step'), 'any');
    assert.equal(await page.locator('#in-flag').getAttribute('type'), 'checkbox');
    assert.equal(await page.locator('#in-config').evaluate((e) => e.tagName), 'TEXTAREA');
    assert.deepEqual(await page.locator('#in-size option').allTextContents(), ['— not set —', 's', 'm', 'l']);
    assert.equal(await page.locator('#in-size').inputValue(), 'm', 'the default is selected');

    // Checked before anything starts: whole numbers, JSON, JSON of the declared kind.
    await page.locator('#in-count').fill('2.5');
    await page.locator('#in-ratio').fill('0.5');
    await page.locator('#in-config').fill('{bad');
    await page.locator('#in-items').fill('{}');
    await page.locator('#run-button').click();
    await assert.doesNotReject(page.locator('#in-count-err', { hasText: 'whole number' }).waitFor());
    await assert.doesNotReject(page.locator('#in-config-err', { hasText: 'not valid JSON' }).waitFor());
    await assert.doesNotReject(page.locator('#in-items-err', { hasText: 'JSON array' }).waitFor());
    assert.ok(!page.url().includes('play='), 'nothing ran');
    await screenshot(page, 'typed-inputs-refused');

    await page.locator('#in-count').fill('3');
    await page.locator('#in-flag').check();
    await page.locator('#in-config').fill('{"a": 1}');
    await page.locator('#in-items').fill('["x", 2]');
    await page.locator('#in-size').selectOption('l');
    await page.locator('#run-button').click();
    await overlaidPlaySid(page);

    const text = page.locator('#pause-forms form.pause-form[data-kind="text"]');
    await text.waitFor();
    await text.locator('textarea').fill('hello\nworld');
    await text.getByRole('button', { name: 'Submit answer' }).click();

    const number = page.locator('#pause-forms form.pause-form[data-kind="number"]');
    await number.waitFor();
    await number.getByRole('button', { name: 'Submit answer' }).click();
    await assert.doesNotReject(number.locator('.pause-error', { hasText: 'must be a number' }).waitFor());
    await number.locator('input').fill('11');
    await number.getByRole('button', { name: 'Submit answer' }).click();
    await assert.doesNotReject(number.locator('.pause-error', { hasText: 'maximum' }).waitFor());
    await screenshot(page, 'number-answer-refused');
    await number.locator('input').fill('7');
    await number.getByRole('button', { name: 'Submit answer' }).click();

    const multi = page.locator('#pause-forms form.pause-form[data-kind="multi_choice"]');
    await multi.waitFor();
    for (const option of ['cheese', 'ham', 'olives']) await multi.getByLabel(option).check();
    await multi.getByRole('button', { name: 'Submit answer' }).click();
    await assert.doesNotReject(multi.locator('.pause-error', { hasText: 'at most' }).waitFor());
    await multi.getByLabel('olives').uncheck();
    await screenshot(page, 'multi-choice');
    await assertControlsNamed(page);
    await multi.getByRole('button', { name: 'Submit answer' }).click();

    await waitForOverlayStatus(page, 'success');
    const echo = JSON.parse(await page.locator('#output [data-output="echo"]').getAttribute('data-json'));
    assert.deepEqual(echo, { count: 3, ratio: 0.5, flag: true, config: { a: 1 }, items: ['x', 2], size: 'l' });
    assert.equal(await page.locator('#output [data-output="note"] .out-value').textContent(), 'hello\nworld');
    assert.equal(await page.locator('#output [data-output="score"] .out-value').textContent(), '7');
    assert.deepEqual(JSON.parse(await page.locator('#output [data-output="picks"]').getAttribute('data-json')), ['cheese', 'ham']);
    assert.deepEqual(await page.locator('#output [data-output="picks"] li').allTextContents(), ['cheese', 'ham'], 'a list of words reads as a list');
    await screenshot(page, 'every-kind-done');
    assertNoConsoleErrors(errors);
  });

  test('examples: the current inputs are saved as one, and a click fills them back', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/greeting'));
    await page.locator('#in-name').fill('Example Ada');
    await page.locator('#in-greeting').fill('Howdy');
    await page.locator('#examples-menu summary').click();
    await page.getByLabel('Example name').fill('howdy ada');
    await page.getByRole('button', { name: 'Save current as example' }).click();
    await assert.doesNotReject(page.locator('#run-msg', { hasText: 'Saved example' }).waitFor());

    await page.reload();
    await page.locator('#in-name').fill('someone else');
    await page.locator('#examples-menu summary').click();
    await screenshot(page, 'examples');
    await assertControlsNamed(page);
    await page.locator('#examples-pop button[data-example="howdy ada"]').click();
    assert.equal(await page.locator('#in-name').inputValue(), 'Example Ada');
    assert.equal(await page.locator('#in-greeting').inputValue(), 'Howdy');
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Howdy, Example Ada!');
    assertNoConsoleErrors(errors);
  });

  test('Cancel ends a waiting run; its question goes away', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/survey_loop'));
    await page.locator('#run-button').click();
    const form = page.locator('#pause-forms form.pause-form[data-kind="number"]');
    await form.waitFor();
    assert.equal(await form.locator('input').evaluate((e) => e === document.activeElement), true, 'the new question has the focus');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await waitForOverlayStatus(page, 'cancelled');
    await assert.doesNotReject(form.waitFor({ state: 'detached' }));
    await assert.doesNotReject(page.locator('#output .error-card.status-cancelled').waitFor());
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0, 'no Cancel on a finished Play');
    await assert.doesNotReject(page.locator('#run-msg', { hasText: 'cancelled' }).waitFor());
    await screenshot(page, 'cancelled');
    assertNoConsoleErrors(errors);
  });

  test('a version picked in the sidebar brings its own inputs and is the one that runs', async () => {
    const first = [
      'from hero_tracing import logic', '', '',
      '@logic(name="ui_versions", inputs={"word": "string"}, outputs={"said": "string"})',
      'def ui_versions(word: str) -> dict:', '    return {"said": "v1 says " + word}', '',
    ].join('\n');
    const second = [
      'from hero_tracing import logic', '', '',
      '@logic(name="ui_versions", inputs={"count": "integer"}, outputs={"said": "string"})',
      'def ui_versions(count: int) -> dict:', '    return {"said": "v2 counts " + str(count)}', '',
    ].join('\n');
    await rpc(stack.baseUrl, 'LogicService.logic_create', { name: 'ui_versions', description: 'Two versions, two signatures', python_source: first });
    await rpc(stack.baseUrl, 'LogicService.logic_create_version', { logic: 'ui_versions', python_source: second });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/ui_versions'));
    await page.locator('#in-count').waitFor();
    assert.equal(await page.locator('.version-btn[aria-pressed="true"] .vlabel').textContent(), 'v2', 'the current version is picked');
    await page.locator('.version-btn', { hasText: 'v1' }).click();
    await page.locator('#in-word').waitFor();
    assert.equal(await page.locator('#in-count').count(), 0, 'v1 has no count input');
    assert.equal((await page.locator('#run-button').textContent()).trim(), '▶ Run v1');
    await page.locator('#in-word').fill('hi');
    await page.locator('#in-word').press('Enter');
    await waitForOverlayStatus(page, 'success');
    assert.equal(await page.locator('#output [data-output="said"] .out-value').textContent(), 'v1 says hi');
    await assert.doesNotReject(page.locator('#stats .facts dd', { hasText: /^v1$/ }).waitFor());
    await screenshot(page, 'older-version-ran');
    assertNoConsoleErrors(errors);
  });

  test('a failure shows its message and a folded traceback', async () => {
    await rpc(stack.baseUrl, 'LogicService.logic_create', {
      name: 'ui_boom', description: 'Raises an exception',
      python_source: 'from hero_tracing import logic\n\n\n@logic(name="ui_boom", outputs={"x": "string"})\n'
        + 'def ui_boom() -> dict:\n    raise ValueError("boom from the test")\n',
    });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/ui_boom'));
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'failed');
    const card = page.locator('#output .error-card');
    assert.match(await card.locator('.error-message').textContent(), /boom from the test/);
    const details = card.locator('details');
    assert.equal(await details.getAttribute('open'), null, 'the traceback starts folded');
    await details.locator('summary').click();
    assert.match(await details.locator('pre').textContent(), /Traceback|ValueError/);
    await screenshot(page, 'failure-traceback');
    assertNoConsoleErrors(errors);
  });
});

describe('layout, keyboard and navigation', () => {
  test('▶ Run stays visible at 1280x720 and 1920x1080 on every kind of page state', async () => {
    for (const viewport of [{ width: 1280, height: 720 }, { width: 1920, height: 1080 }]) {
      const { page, errors } = await newPage(viewport);
      for (const name of ['text_pipeline', 'survey_loop', 'approval_gate', 'summarize_stats']) {
        await page.goto(url(`/logics/${name}`));
        await page.locator('#input-fields').waitFor();
        await assertRunVisible(page);
      }
      if (viewport.width === 1280) await screenshot(page, 'summarize-stats-1280x720');
      assertNoConsoleErrors(errors);
    }
  });

  test('Tab reaches every input and then Run; every control has an accessible name', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/text_pipeline'));
    await page.locator('#in-text').waitFor();
    await page.locator('#in-text').focus();
    const seen = [];
    for (let i = 0; i < 12; i += 1) {
      const id = await page.evaluate(() => document.activeElement && document.activeElement.id);
      seen.push(id);
      if (id === 'run-button') break;
      await page.keyboard.press('Tab');
    }
    assert.deepEqual(seen, ['in-text', 'in-top_n', 'run-button'], `focus order: ${seen.join(' > ')}`);

    // Enter on the focused Run button runs too; the shortcut is Ctrl+Enter from any field.
    await page.locator('#in-text').fill('the cat and the hat');
    await page.locator('#in-text').press('Control+Enter');
    await overlaidPlaySid(page);
    await waitForOverlayStatus(page, 'success');

    await assertControlsNamed(page);
    assertNoConsoleErrors(errors);
  });

  test('every module of the logic view loads as JavaScript, and each page runs under the admin\'s CSP', async () => {
    const { page, errors } = await newPage();
    // An inline script, handler or style attribute would be refused and show as a console error.
    const scripts = new Map();
    const policies = new Map();
    page.on('response', (res) => {
      const path = new URL(res.url()).pathname;
      if (path.endsWith('.js')) scripts.set(path, [res.status(), res.headers()['content-type']]);
      if (res.request().resourceType() === 'document') policies.set(path, res.headers()['content-security-policy'] || '');
    });
    await page.goto(url('/logics/greeting'));
    await page.locator('#in-name').fill('Policy');
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'success');
    assert.ok(await page.locator('#trace .tr').count() >= 2, 'the trace drew its rows');
    const depth = await page.locator('#trace .tr').first().evaluate((e) => e.style.getPropertyValue('--depth'));
    assert.equal(depth, '0', 'trace depth is set through the style object, which the policy allows');
    if (await page.locator('#code-editor .cm-content').count()) {
      // CodeMirror's one style element gets in by the page's nonce.
      const display = await page.locator('#code-editor .cm-editor').evaluate((e) => getComputedStyle(e).display);
      assert.equal(display, 'flex', 'the editor is styled by its theme');
    }
    await page.goto(url('/'));
    await page.locator('table.logics .rate-bar').first().waitFor();
    await page.goto(url('/logics/new'));
    await page.getByLabel('Name').fill('csp_probe');
    await page.getByLabel('Description').fill('Says "hi" \\ loudly');
    const filled = await page.locator('#nl-source').inputValue();
    assert.match(filled, /def csp_probe\(/, 'the template script ran');
    // The server's template, filled as the server fills it (routes/new_logic.rs has the same case).
    assert.ok(filled.includes('description="Says \\"hi\\" \\\\ loudly"'), filled);
    for (const [path, policy] of policies) assert.match(policy, /default-src 'self'/, `${path} has the admin's CSP`);
    assert.ok(policies.size >= 3, [...policies.keys()].join(', '));
    const modules = [...scripts.keys()].filter((p) => p.startsWith('/static/logic/'));
    assert.ok(modules.length >= 17, `every region module loaded: ${modules.join(', ')}`);
    for (const [path, [status, type]] of scripts) {
      assert.equal(status, 200, path);
      assert.match(type, /^text\/javascript/, `${path} is served as JavaScript`);
    }
    assertNoConsoleErrors(errors);
  });

  test('a region redraws only for its own state: refreshing stats or saving an example leaves the rest', async () => {
    const { page, errors } = await newPage();
    await page.goto(url('/logics/greeting'));
    await page.locator('#in-name').fill('Slices');
    await page.locator('#run-button').click();
    await waitForOverlayStatus(page, 'success');
    await page.locator('#flow .flow-entry').waitFor();
    // Tag one node of each region; a redrawn region has a new node in its place.
    const regions = ['#trace', '#output', '#flow', '#panel-tree', '#input-fields', '#breadcrumb', '#examples-pop', '#stats'];
    const tag = () => page.evaluate((ids) => {
      for (const id of ids) document.querySelector(id).firstElementChild.dataset.probe = id;
    }, regions);
    const kept = () => page.evaluate((ids) => ids.filter((id) => {
      const first = document.querySelector(id).firstElementChild;
      return first && first.dataset.probe === id;
    }), regions);
    await tag();
    await page.getByRole('button', { name: 'Refresh stats' }).click();
    await page.locator('#stats .stat-card:not([data-probe])').first().waitFor();
    await page.waitForFunction(() => !document.querySelector('#stats [data-probe]'));
    assert.deepEqual(await kept(), regions.filter((r) => r !== '#stats'), 'only the stats redrew');

    await tag();
    await page.locator('#examples-menu summary').click();
    await page.getByLabel('Example name').fill('slices example');
    await page.getByRole('button', { name: 'Save current as example' }).click();
    await assert.doesNotReject(page.locator('#run-msg', { hasText: 'Saved example' }).waitFor());
    assert.deepEqual(await kept(), regions.filter((r) => r !== '#examples-pop'), 'only the examples menu redrew');
    assert.equal(await page.locator('#in-name').inputValue(), 'Slices', 'what was typed stays');
    assertNoConsoleErrors(errors);
  });

  test('old URLs redirect (301) to the logic view', async () => {
    const logic = (await rpc(stack.baseUrl, 'logic.find', { name: 'greeting' })).items[0];
    const plays = await rpc(stack.baseUrl, 'LogicService.play_list_for_logic', { logic: 'greeting', limit: 1 });
    const play = plays.items[0];
    let res = await fetch(url(`/workflows/${logic.sid}`), { redirect: 'manual', headers: authHeaders(stack.baseUrl) });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), `/logics/${logic.sid}`);
    res = await fetch(url(`/plays/${play.sid}`), { redirect: 'manual', headers: authHeaders(stack.baseUrl) });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), `/logics/${play.logic_sid}?play=${play.sid}`);

    const { page, errors } = await newPage();
    await page.goto(url(`/plays/${play.sid}`));
    await page.waitForURL(new RegExp(`/logics/${play.logic_sid}\\?play=${play.sid}$`));
    await page.locator('#stats .pill').waitFor();
    assertNoConsoleErrors(errors);
  });
});
