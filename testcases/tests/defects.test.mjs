// Rough edges of the logic view a new user hit, each in a real browser against a real daemon
// and admin: questions and their answers in the play bar and trace, the picked version in the
// URL, an unknown Play in the URL, branches dimmed by what the run recorded, a logic's own
// verdict, and the mapping editor's rows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { browserSuite, openMappingTo, rpc, screenshot } from '../lib/harness.mjs';

const suite = browserSuite();
const newPage = suite.newPage;
const url = suite.url;

function logicSource(name, body, { inputs = '{}', outputs = '{"ok": {"type": "boolean"}}', args = '' } = {}) {
  return [
    'from hero_tracing import ask_user, logic',
    '',
    '',
    `@logic(name="${name}", inputs=${inputs}, outputs=${outputs})`,
    `def ${name}(${args}) -> dict:`,
    ...body.map((line) => `    ${line}`),
    '',
  ].join('\n');
}

describe('questions and answers', () => {
  test('a number question is prefilled with its default; once answered the footer says so and the trace keeps it', async () => {
    await rpc(suite.baseUrl(), 'LogicService.logic_create', {
      name: 'ask_count',
      python_source: logicSource('ask_count', ['import time', 'n = ask_user.number("How many cups?", default=4, integer=True)', 'time.sleep(1.5)', 'return {"n": n}'],
        { outputs: '{"n": {"type": "integer"}}' }),
    });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/ask_count'));
    await page.locator('#run-button').click();
    const form = page.locator('#pause-forms form.pause-form[data-kind="number"]');
    await form.waitFor();
    assert.equal(await form.locator('input[type="number"]').inputValue(), '4', 'the default is prefilled');
    await page.locator('#run-msg', { hasText: 'waits for an answer' }).waitFor();
    await form.getByRole('button', { name: 'Submit answer' }).click();
    // The run goes on after the answer: the footer says so, not that it still waits.
    await page.locator('#stats .pill.status-running').waitFor();
    await page.locator('#run-msg', { hasText: 'has its answer' }).waitFor();
    await page.locator('#stats .pill.status-success').waitFor();
    assert.equal(await page.locator('#output [data-output="n"] .out-value').textContent(), '4');
    const footer = await page.locator('#run-msg').textContent();
    assert.ok(!footer.includes('waits for an answer'), `the footer is past the question: ${footer}`);
    const answered = page.locator('#trace .tr-answer');
    assert.equal(await answered.count(), 1, 'the answered question stays in the trace');
    assert.match(await answered.textContent(), /How many cups\?.*4/);
    await screenshot(page, 'defects-answered-question');
    // Read back later (a new page): the answer is still in the trace, with its question's id.
    const sid = new URL(page.url()).searchParams.get('play');
    const again = await newPage();
    await again.page.goto(url(`/logics/ask_count?play=${sid}`));
    await again.page.locator('#stats .pill.status-success').waitFor();
    assert.match(await again.page.locator('#trace .tr-answer').textContent(), /answered.*4/);
    assert.deepEqual(errors, []);
    assert.deepEqual(again.errors, []);
  });
});

describe('the URL', () => {
  test('the picked version is in the URL and survives a reload', async () => {
    const source = (label) => logicSource('url_versions', [`return {"ok": True, "label": "${label}"}`],
      { outputs: '{"ok": {"type": "boolean"}, "label": {"type": "string"}}' });
    await rpc(suite.baseUrl(), 'LogicService.logic_create', { name: 'url_versions', python_source: source('one'), version_label: 'one' });
    await rpc(suite.baseUrl(), 'LogicService.logic_create_version', { logic: 'url_versions', python_source: source('two'), version_label: 'two', make_current: true });
    const { page, errors } = await newPage();
    await page.goto(url('/logics/url_versions'));
    await page.locator('.version-btn', { hasText: 'one' }).click();
    await page.waitForURL(/[?&]version=/);
    await page.waitForLoadState('networkidle'); // the picked version's stats, not cut by the reload
    await page.reload();
    await page.locator('.version-btn[aria-pressed="true"]', { hasText: 'one' }).waitFor();
    await page.locator('#flow-head strong', { hasText: 'one' }).waitFor();
    // A run from here keeps the version in the URL beside the Play.
    await page.locator('#run-button').click();
    await page.waitForURL(/[?&]play=.*[?&]version=|[?&]version=.*[?&]play=/);
    await page.locator('#stats .pill.status-success').waitFor();
    assert.equal(await page.locator('#output [data-output="label"] .out-value').textContent(), 'one');
    assert.deepEqual(errors, []);
  });

  test('an unknown ?play= says so where the person looks', async () => {
    const { page } = await newPage();
    await page.goto(url('/logics/greeting?play=nosuchplay'));
    const message = page.locator('#run-msg.error');
    await message.waitFor();
    assert.match(await message.textContent(), /nosuchplay/);
    assert.match(await message.textContent(), /not found|no Play|unknown/i);
    await page.locator('#panel-flow [role="alert"]', { hasText: 'nosuchplay' }).waitFor();
    await screenshot(page, 'defects-unknown-play');
  });
});

describe('the flow', () => {
  test('branches not taken are dim by what the run recorded, not only beside a called child', async () => {
    const body = [
      'if n > 100:',
      '    logic.invoke("fib", n=1)',
      'else:',
      '    logic.log("small")',
      'if n > 0:',
      '    ask_user.confirm("Go on?")',
      'else:',
      '    logic.invoke("greeting", name="Nobody")',
      'return {"ok": True}',
    ];
    await rpc(suite.baseUrl(), 'LogicService.logic_create', {
      name: 'dim_branches',
      python_source: logicSource('dim_branches', body, { inputs: '{"n": {"type": "integer", "default": 3}}', args: 'n: int = 3' }),
    });
    const started = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'dim_branches', inputs: { n: 3 } });
    const waiting = await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: started.sid, timeout_ms: 20000 });
    assert.equal(waiting.status, 'awaiting_resume');
    await rpc(suite.baseUrl(), 'LogicService.play_resume', { play_sid: started.sid, resume_id: waiting.pending_resumes[0].id, payload: true });
    const done = await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: started.sid, timeout_ms: 20000 });
    assert.equal(done.status, 'success');
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/dim_branches?play=${started.sid}`));
    await page.locator('#stats .pill.status-success').waitFor();
    const ifs = page.locator('#panel-flow .flow-if');
    await ifs.first().waitFor();
    assert.equal(await ifs.count(), 2);
    const dim = (i, j) => ifs.nth(i).locator('.flow-branch').nth(j).evaluate((b) => b.classList.contains('flow-dim'));
    // No child ran in either branch of the first if: fib was never called, so its branch is dim.
    assert.equal(await dim(0, 0), true, 'the n > 100 branch (fib, never called) is dim');
    assert.equal(await dim(0, 1), false, 'the else branch ran');
    // The second if's taken branch asked a question and called nothing.
    assert.equal(await dim(1, 0), false, 'the branch that asked ran');
    assert.equal(await dim(1, 1), true, 'the greeting branch is dim');
    await screenshot(page, 'defects-dim-branches');
    assert.deepEqual(errors, []);
  });
});

describe('a logic\'s own verdict', () => {
  test('a script_execution attempt that returned ok: false is not a green success in tree, flow and play bar', async () => {
    const body = [
      'first = logic.invoke("script_execution", code="raise SystemExit(3)")',
      'second = logic.invoke("script_execution", code="print(1)")',
      'return {"ok": bool(second["ok"]), "first_ok": bool(first["ok"])}',
    ];
    await rpc(suite.baseUrl(), 'LogicService.logic_create', {
      name: 'verdicts',
      python_source: logicSource('verdicts', body, { outputs: '{"ok": {"type": "boolean"}, "first_ok": {"type": "boolean"}}' }),
    });
    const started = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'verdicts', inputs: {} });
    const done = await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: started.sid, timeout_ms: 30000 });
    assert.equal(done.status, 'success', done.error_message);
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/verdicts?play=${started.sid}`));
    await page.locator('#stats .pill.status-success').waitFor();
    // Flow: the two attempts side by side, the failed one in its own state.
    const chips = page.locator('#panel-flow .flow-invoke[data-target="script_execution"] .flow-play');
    await chips.first().waitFor();
    assert.deepEqual(await chips.evaluateAll((cs) => cs.map((c) => c.className.match(/status-(\w+)/)[1])), ['not_ok', 'success']);
    assert.match(await chips.first().textContent(), /returned ok: false/);
    // Tree: the same verdict on the child's row.
    await page.locator('#tab-tree').click();
    const rows = page.locator('#panel-tree .node-row', { has: page.locator('.node-name', { hasText: 'script_execution' }) });
    assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.querySelector('.node-status').textContent)), ['returned ok: false', 'success']);
    // Play bar: the failed attempt's own view.
    await page.locator('#panel-tree a.node-name', { hasText: 'script_execution' }).first().click();
    await page.waitForURL(/play=/);
    await page.locator('#stats .pill.status-not_ok', { hasText: 'returned ok: false' }).waitFor();
    assert.match(await page.locator('#trace-meta').textContent(), /returned ok: false/);
    assert.match(await page.locator('#trace .tr-end').last().textContent(), /returned ok: false/);
    // The Plays menu of script_execution's view says the same of that attempt.
    const attempt = new URL(page.url()).searchParams.get('play');
    await page.reload();
    await page.locator('#stats .pill.status-not_ok').waitFor();
    await page.locator('#plays-menu summary').click();
    assert.match(await page.locator(`.menu-item[data-play="${attempt}"]`).textContent(), /returned ok: false/);
    await screenshot(page, 'defects-not-ok-verdict');
    assert.deepEqual(errors, []);
  });
});

describe('the mapping editor', () => {
  test('rows are added, removed and moved; the bound fields keep the target\'s types; errors count rows from 1', async () => {
    await rpc(suite.baseUrl(), 'LogicService.logic_create', {
      name: 'map_rows',
      python_source: 'from hero_tracing import logic\n\n\n@logic(name="map_rows")\ndef map_rows() -> dict:\n    return {}\n',
    });
    const { page, errors } = await newPage();
    await openMappingTo(page, url('/logics/map_rows'), 'greeting');
    await page.locator('#map-inputs tr.map-row[data-target="name"]').waitFor();
    const targets = (table) => page.locator(`${table} tr.map-row`).evaluateAll((rs) => rs.map((r) => r.getAttribute('data-target')));

    // Remove the greeting input row: the target's own default applies.
    await page.locator('#map-inputs tr.map-row[data-target="greeting"] .map-remove').click();
    assert.deepEqual(await targets('#map-inputs'), ['name']);
    // A derived output of this version's own, then moved first.
    await page.locator('#map-add-output').click();
    const added = page.locator('#map-outputs tr.map-row').last();
    await added.locator('.map-target-input').fill('shout');
    await added.locator('.map-source').fill('literal:hey');
    await page.locator('#map-add-output').click();
    const passthrough = page.locator('#map-outputs tr.map-row').last();
    await passthrough.locator('.map-target-input').fill('who');
    await passthrough.locator('.map-source').fill('inputs.name');
    await page.locator('#map-outputs tr.map-row[data-target="shout"] .map-up').click();
    assert.deepEqual(await targets('#map-outputs'), ['shout', 'message', 'who']);
    assert.deepEqual(await page.locator('#map-outputs .map-num').allTextContents(), ['1', '2', '3']);

    // An added row left without a target is refused on its row, counted from 1.
    await page.locator('#map-add-output').click();
    await page.locator('#code-save').click();
    await page.locator('#code-save-submit').click();
    const bad = page.locator('#map-outputs tr.map-row[data-index="3"]');
    await bad.locator('.map-err').filter({ hasText: /./ }).waitFor();
    assert.match(await bad.locator('.map-err').textContent(), /row 4/);
    await screenshot(page, 'defects-mapping-rows');
    await bad.locator('.map-remove').click();
    await page.locator('#code-save-submit').click();
    await page.waitForURL(/[?&]tab=code/);

    // Saved as laid out, with the target's types on the fields taken whole.
    const logic = (await rpc(suite.baseUrl(), 'logic.find', { name: 'map_rows' })).items[0];
    const version = await rpc(suite.baseUrl(), 'logicversion.get', { sid: logic.current_version_sid });
    assert.deepEqual(version.binding.output_mappings.map((m) => m.target), ['shout', 'message', 'who']);
    assert.deepEqual(version.inputs.map((f) => [f.name, f.field_type]), [['name', 'string']]);
    assert.deepEqual(version.outputs.map((f) => [f.name, f.field_type]), [['shout', 'any'], ['message', 'string'], ['who', 'any']]);
    // It opens again with the same rows, and runs.
    await page.locator('#map-outputs tr.map-row[data-target="who"]').waitFor();
    assert.deepEqual(await targets('#map-outputs'), ['shout', 'message', 'who']);
    await page.locator('#in-name').fill('Ada');
    await page.locator('#run-button').click();
    await page.locator('#stats .pill.status-success').waitFor();
    assert.equal(await page.locator('#output [data-output="shout"] .out-value').textContent(), 'hey');
    assert.equal(await page.locator('#output [data-output="who"] .out-value').textContent(), 'Ada');
    assert.equal(await page.locator('#output [data-output="message"] .out-value').textContent(), 'Hello, Ada!');
    assert.deepEqual(errors, []);
  });
});

describe('model and HTTP leaves', () => {
  test('model and HTTP calls carry ⚡, stdlib markers do not; a model leaf shows the Play\'s recorded cost', async () => {
    const source = [
      'import re',
      '',
      'from hero_tracing import llm, logic',
      'from hero_tracing.client import http_json',
      '',
      '',
      '@logic(name="leaf_costs", inputs={"n": {"type": "integer", "default": 1}}, outputs={"ok": {"type": "boolean"}})',
      'def leaf_costs(n: int = 1) -> dict:',
      '    logic.record_stats(prompt_tokens=1200, completion_tokens=345, cost_usd=0.0123)',
      '    found = re.search("b", "abc")',
      '    if n > 100:',
      '        llm.chat("some-model", [{"role": "user", "content": "hi"}])',
      '        http_json("GET", "http://127.0.0.1:9/none")',
      '    return {"ok": bool(found)}',
      '',
    ].join('\n');
    await rpc(suite.baseUrl(), 'LogicService.logic_create', { name: 'leaf_costs', python_source: source });
    const started = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'leaf_costs', inputs: {} });
    const done = await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: started.sid, timeout_ms: 20000 });
    assert.equal(done.status, 'success', done.error_message);
    const { page, errors } = await newPage();
    await page.goto(url(`/logics/leaf_costs?play=${started.sid}`));
    await page.locator('#stats .pill.status-success').waitFor();
    const leaf = (api) => page.locator(`#panel-flow .flow-rpc[data-api="${api}"]`);
    await leaf('model').waitFor();
    assert.match(await leaf('model').locator('.flow-kind').textContent(), /^⚡ model/);
    assert.match(await leaf('model').textContent(), /llm\.chat/);
    assert.match(await leaf('http').locator('.flow-kind').textContent(), /^⚡ HTTP/);
    assert.doesNotMatch(await leaf('stdlib').locator('.flow-kind').textContent(), /⚡/);
    assert.match(await leaf('stdlib').textContent(), /re\.search/);
    await leaf('model').locator('.flow-label').click();
    const line = page.locator('#flow-line');
    await line.locator('code', { hasText: 'llm.chat' }).waitFor();
    assert.match(await line.textContent(), /1,200 prompt \+ 345 completion tokens, \$0\.012/);
    await screenshot(page, 'defects-model-leaf-cost');
    assert.deepEqual(errors, []);
  });
});
