// The Runs page, the Inbox and dark mode, in a real browser against a real daemon and admin.
// Run: cd testcases && node --test tests/runs.test.mjs (after cargo build --workspace).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { SCREENSHOT_DIR, assertNoConsoleErrors, browserSuite, rpc, screenshot } from '../lib/harness.mjs';

const suite = browserSuite();
const newPage = suite.newPage;
const url = suite.url;

before(async () => {
  await suite.ready;
  process.stdout.write(`# screenshots: ${SCREENSHOT_DIR}\n`);
  await rpc(suite.baseUrl(), 'LogicService.logic_create', {
    name: 'rn_echo',
    python_source: [
      'from hero_tracing import logic', '', '',
      '@logic(name="rn_echo", inputs={"word": "string"}, outputs={"word": "string"})',
      'def rn_echo(word):',
      '    if word == "boom":',
      '        raise ValueError("the word was boom")',
      '    return {"word": word}', '',
    ].join('\n'),
  });
  await rpc(suite.baseUrl(), 'LogicService.logic_create', {
    name: 'rn_ask',
    python_source: [
      'from hero_tracing import ask_user, logic', '', '',
      '@logic(name="rn_ask", outputs={"colour": "string"})',
      'def rn_ask():',
      '    return {"colour": ask_user.text("Which colour, inbox?")}', '',
    ].join('\n'),
  });
  await rpc(suite.baseUrl(), 'LogicService.logic_create', {
    name: 'rn_parent',
    python_source: [
      'from hero_tracing import logic', '', '',
      '@logic(name="rn_parent", outputs={"word": "string"})',
      'def rn_parent():',
      '    return logic.invoke("rn_echo", word="from-a-parent")', '',
    ].join('\n'),
  });
  for (const word of ['apple', 'boom', 'cherry']) await run('rn_echo', { word });
});

async function run(logic, inputs) {
  const play = await rpc(suite.baseUrl(), 'LogicService.play_start', { logic, inputs });
  return rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 60000 });
}

async function runNames(page) {
  return page.locator('#runs-table tbody td.name a').allTextContents();
}

describe('runs page', () => {
  test('lists every Play newest first, filters by status and text, and refuses a bad date plainly', async () => {
    const { page, errors } = await newPage();
    await page.locator('#nav-runs').click();
    await page.waitForURL(/\/runs$/);
    await page.locator('#runs-table').waitFor();
    const all = await runNames(page);
    assert.ok(all.filter((n) => n === 'rn_echo').length >= 3, `three rn_echo runs listed: ${all}`);
    await screenshot(page, 'runs-all');

    await page.locator('select[name=status]').selectOption('failed');
    await page.locator('#run-filters button[type=submit]').click();
    await page.waitForURL(/status=failed/);
    assert.deepEqual(await runNames(page), ['rn_echo'], 'only the failed run');
    assert.match(await page.locator('#runs-table td.error-cell').first().textContent(), /the word was boom/);

    await page.goto(url('/runs?q=CHERRY'));
    assert.deepEqual(await runNames(page), ['rn_echo'], 'text matches the input, case-insensitively');
    const href = await page.locator('#runs-table td.name a').first().getAttribute('href');
    await page.locator('#runs-table td.name a').first().click();
    await page.waitForURL((u) => u.href.endsWith(href));
    assert.match(page.url(), /\/logics\/.+\?play=/, 'the row opens the Play in its Logic view');

    await page.goto(url('/runs?from=yesterday'));
    await assert.doesNotReject(page.locator('#runs-problem', { hasText: 'YYYY-MM-DD' }).waitFor());
    await page.goto(url('/runs?logic=no_such_logic'));
    await assert.doesNotReject(page.locator('#runs-problem', { hasText: 'no_such_logic' }).waitFor());
    await screenshot(page, 'runs-bad-filter');
    assertNoConsoleErrors(errors);
  });

  test('lists child Plays only when "child Plays too" is ticked, each marked child', async () => {
    const parent = await run('rn_parent', {});
    assert.equal(parent.status, 'success', JSON.stringify(parent));
    const { page, errors } = await newPage();
    await page.goto(url('/runs?q=from-a-parent'));
    assert.deepEqual(await runNames(page), ['rn_parent'], 'top-level only by default: the parent, whose output holds the word');
    await page.locator('input[name=children]').check();
    await page.locator('input[name=children]').evaluate((box) => box.form.requestSubmit());
    await page.waitForURL(/children=1/);
    assert.deepEqual((await runNames(page)).sort(), ['rn_echo', 'rn_parent'], 'the child Play joins the list');
    const childRow = page.locator('#runs-table tbody tr', { has: page.locator('td.name a', { hasText: 'rn_echo' }) });
    await assert.doesNotReject(childRow.locator('.tag', { hasText: 'child' }).waitFor());
    assert.equal(await page.locator('#runs-table tbody tr .tag', { hasText: 'child' }).count(), 1, 'only the child is marked');
    assertNoConsoleErrors(errors);
  });

  test('pages with a cursor, newest first', async () => {
    const { page, errors } = await newPage();
    // 50 a page; make sure there are more than 50 top-level runs.
    const have = (await rpc(suite.baseUrl(), 'LogicService.play_search', { limit: 1000 })).items.length;
    for (let i = have; i < 52; i += 1) {
      await rpc(suite.baseUrl(), 'LogicService.play_start', { logic: 'rn_echo', inputs: { word: `w${i}` } });
    }
    await page.goto(url('/runs?logic=rn_echo'));
    assert.equal(await page.locator('#runs-table tbody tr').count(), 50);
    await page.locator('#runs-older').click();
    await page.waitForURL(/cursor=/);
    const rest = await page.locator('#runs-table tbody tr').count();
    assert.ok(rest >= 1 && rest < 50, `the second page holds the rest: ${rest}`);
    assertNoConsoleErrors(errors);
  });
});

describe('inbox', () => {
  test('shows a waiting question with a badge in the header and takes the answer in place', async () => {
    const play = await run('rn_ask', {});
    assert.equal(play.status, 'awaiting_resume');
    const { page, errors } = await newPage();
    await page.goto(url('/runs'));
    await assert.doesNotReject(page.locator('#inbox-count:not([hidden])', { hasText: '1' }).waitFor());
    await page.locator('#nav-inbox').click();
    await page.waitForURL(/\/inbox$/);
    const item = page.locator('.inbox-item', { hasText: 'Which colour, inbox?' });
    await item.waitFor();
    assert.match(await item.locator('a').getAttribute('href'), new RegExp(`play=${play.sid}`));
    await screenshot(page, 'inbox-waiting');

    await item.locator('input[name=answer]').fill('teal');
    await item.locator('button[type=submit]').click();
    await assert.doesNotReject(item.locator('.inbox-status', { hasText: 'Answered' }).waitFor());
    const done = await rpc(suite.baseUrl(), 'LogicService.play_wait', { play_sid: play.sid, timeout_ms: 60000 });
    assert.equal(done.output_data.colour, 'teal');
    await assert.doesNotReject(page.locator('#inbox-count[hidden]').waitFor({ state: 'attached', timeout: 15000 }));
    assertNoConsoleErrors(errors);
  });
});

/** WCAG contrast of an element's text against the first opaque background behind it. */
async function contrasts(page, selectors) {
  return page.evaluate((selectors) => {
    const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = {};
    for (const sel of selectors) {
      const el = document.querySelector(sel);
      if (!el) { out[sel] = null; continue; }
      const a = lum(rgb(getComputedStyle(el).color).slice(0, 3));
      const b = lum(background(el));
      out[sel] = { ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), bg: background(el) };
    }
    return out;
  }, selectors);
}

describe('dark mode', () => {
  test('every view follows a dark colour scheme and stays legible', async () => {
    const { page, errors } = await newPage();
    await page.emulateMedia({ colorScheme: 'dark' });
    const views = [
      ['/', ['h1', 'table.logics td.name a', 'input[type=search]']],
      ['/runs', ['h1', '#runs-table td.muted', 'select[name=status]', '#runs-table td.error-cell']],
      ['/inbox', ['h1', '.empty-card']],
      ['/logics/rn_echo', ['h1', '#run-button', '.topbar a']],
      ['/logics/new', ['h1', 'input']],
    ];
    for (const [path, selectors] of views) {
      await page.goto(url(path));
      await page.locator('h1').first().waitFor();
      const body = (await contrasts(page, ['body']))['body'];
      assert.ok(body.bg.every((v) => v < 60), `${path}: the page background is dark: ${body.bg}`);
      const found = await contrasts(page, selectors);
      for (const sel of selectors) {
        assert.ok(found[sel], `${path}: ${sel} is on the page`);
        assert.ok(found[sel].ratio >= 4.5, `${path}: ${sel} has contrast ${found[sel].ratio.toFixed(2)} (< 4.5)`);
      }
      await screenshot(page, `dark${path.replace(/[^a-z]+/g, '-')}`);
    }
    // The Play view with a failed run: status, error card and trace.
    const failed = (await rpc(suite.baseUrl(), 'LogicService.play_search', { status: 'failed' })).items[0];
    await page.goto(url(`/logics/${failed.logic_sid}?play=${failed.sid}`));
    await page.locator('.error-card, .pill.status-failed').first().waitFor();
    const play = await contrasts(page, ['.pill.status-failed']);
    assert.ok(play['.pill.status-failed'].ratio >= 4.5, `failed pill contrast ${play['.pill.status-failed'].ratio}`);
    await screenshot(page, 'dark-play-failed');
    assertNoConsoleErrors(errors);
  });
});
