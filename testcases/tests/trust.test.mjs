// The admin's trust boundary in a real browser: a person gets in with the printed link; a
// browser without it is told how to get in; another web site, even in a logged-in browser,
// and a rebinding DNS name cannot create or run anything.
// Run: cd testcases && npm ci && npm test (after cargo build --workspace).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_ARGS, freePort, logIn, openPage, rpc, screenshot, startStack,
} from '../lib/harness.mjs';

let stack;
let browser;
let attacker;
let attackerPort;
const contexts = [];

// The attacker's page: what any site the person visits could run. Each attempt reports back
// in the title; none of them may reach the daemon.
function attackPage(adminBase, name) {
  const create = (suffix) => JSON.stringify({
    jsonrpc: '2.0', id: 1, method: 'LogicService.logic_create',
    params: { name: `${name}_${suffix}`, python_source: `from hero_tracing import logic\n\n@logic(name="${name}_${suffix}")\ndef ${name}_${suffix}():\n    return {}\n` },
  });
  return `<!doctype html><title>attack</title><script>
    (async () => {
      const results = [];
      try { await fetch(${JSON.stringify(adminBase + '/rpc')}, { method: 'POST', mode: 'no-cors', credentials: 'include', body: ${JSON.stringify(create('nocors'))} }); results.push('nocors-sent'); } catch (e) { results.push('nocors-failed'); }
      try { await fetch(${JSON.stringify(adminBase + '/rpc')}, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(create('cors'))} }); results.push('cors-read'); } catch (e) { results.push('cors-blocked'); }
      // Loading the admin's files into this page, with the person's cookie when same-site
      // (refused by the admin's Sec-Fetch check, and by the browser for its CORP header).
      results.push(await new Promise((resolve) => {
        const script = document.createElement('script');
        script.src = ${JSON.stringify(adminBase + '/static/logic.js')};
        script.onload = () => resolve('embed-loaded');
        script.onerror = () => resolve('embed-blocked');
        document.head.appendChild(script);
      }));
      document.title = results.join(',');
    })();
  </script>`;
}

before(async () => {
  stack = await startStack();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // evil.example resolves to this machine, as a rebinding DNS name would make it.
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP evil.example 127.0.0.1'],
    headless: true,
  });
  attackerPort = await freePort();
  attacker = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').searchParams.get('name') || 'pwned';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(attackPage(stack.baseUrl, name));
  });
  await new Promise((resolve) => attacker.listen(attackerPort, '127.0.0.1', resolve));
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (attacker) await new Promise((resolve) => attacker.close(resolve));
  if (stack) await stack.stop();
});

async function freshPage(loggedIn) {
  const opened = await openPage(browser, undefined, loggedIn ? stack : null);
  contexts.push(opened.context);
  return opened;
}

async function logicsNamed(prefix) {
  const page = await rpc(stack.baseUrl, 'logic.list', { limit: 500 });
  return page.items.map((l) => l.name).filter((n) => n.startsWith(prefix));
}

describe('trust boundary', () => {
  test('without the link the admin says how to get in; the printed link logs in and leaves the URL', async () => {
    const { page, context } = await freshPage(false);
    const refused = await page.goto(`${stack.baseUrl}/`);
    assert.equal(refused.status(), 401);
    const text = await page.locator('body').innerText();
    assert.match(text, /needs its access token/);
    assert.match(text, /hero_logic up/);
    assert.match(text, /hero_logic admin-url/);
    await screenshot(page, 'refused-without-token');

    // Watch the console from here on: after logging in, nothing may go wrong.
    const errors = [];
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    await logIn(page, stack);
    assert.equal(page.url(), `${stack.baseUrl}/`, 'the token is gone from the address bar');
    await page.locator('h1', { hasText: 'Logics' }).waitFor();
    const cookies = await context.cookies(stack.baseUrl);
    assert.equal(cookies.length, 1, JSON.stringify(cookies));
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(cookies[0].sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'page scripts cannot read the token');
    await page.locator('a', { hasText: 'greeting' }).first().click();
    await page.locator('#run-button').waitFor();
    assert.deepEqual(errors, [], `console errors after logging in:\n${errors.join('\n')}`);
  });

  test('another site cannot create a logic through a logged-in browser', async () => {
    const { page } = await freshPage(true);
    // Same site (same host, another port: the Strict cookie goes along) and cross-site.
    for (const origin of [`http://127.0.0.1:${attackerPort}`, `http://evil.example:${attackerPort}`]) {
      const name = origin.includes('evil') ? 'pwned_cross' : 'pwned_same';
      await page.goto(`${origin}/?name=${name}`);
      await page.waitForFunction(() => document.title.split(',').length === 3, null, { timeout: 15000 });
      const title = await page.title();
      assert.match(title, /cors-blocked/, `the page could not read an answer from the admin: ${title}`);
      assert.match(title, /embed-blocked/, `the page could not load the admin's script: ${title}`);
    }
    // A form the attacker submits lands on the admin's refusal, not on a new Logic.
    await page.goto(`http://127.0.0.1:${attackerPort}/`);
    const answer = page.waitForResponse((res) => res.url() === `${stack.baseUrl}/logics`);
    await page.evaluate((action) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [k, v] of [['name', 'pwned_form'], ['python_source', 'x = 1']]) {
        const input = document.createElement('input');
        input.name = k; input.value = v; form.appendChild(input);
      }
      document.body.appendChild(form);
      form.submit();
    }, `${stack.baseUrl}/logics`);
    assert.equal((await answer).status(), 403);
    await page.waitForURL(`${stack.baseUrl}/logics`);
    assert.match(await page.locator('body').innerText(), /only to its own pages/);
    assert.deepEqual(await logicsNamed('pwned'), [], 'no attempt created a Logic');
  });

  test('a rebinding DNS name reaches nothing, even with the token', async () => {
    const { page } = await freshPage(false);
    const port = new URL(stack.baseUrl).port;
    const token = new URL(stack.loginUrl).searchParams.get('token');
    const res = await page.goto(`http://evil.example:${port}/?token=${token}`);
    assert.equal(res.status(), 403);
    assert.match(await page.locator('body').innerText(), /does not answer to the host name/);
    const rpcStatus = await page.evaluate(async () => {
      const r = await fetch('/rpc', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'logic.list', params: {} }) });
      return [r.status, await r.text()];
    });
    assert.equal(rpcStatus[0], 403, rpcStatus[1]);
    assert.doesNotMatch(rpcStatus[1], /"result"/);
    assert.doesNotMatch(rpcStatus[1], new RegExp(token), 'the refusal does not echo the token');
  });
});
