// Starts a real daemon (temp data dir, the repo's seed logics) and a real admin on a free
// port, gets the admin's login link the way a user does (`hero_logic admin-url`), launches
// Debian's chromium through playwright-core, and collects console errors and screenshots.
// Every process started here is stopped by its PID in stop().
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { after, before } from 'node:test';

import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
const BIN_DIR = process.env.HERO_LOGIC_BIN_DIR || path.join(TARGET, 'debug');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
export const SCREENSHOT_DIR = path.resolve(process.env.SCREENSHOT_DIR || path.join(ROOT, 'testcases', 'screenshots'));

function binary(name) {
  const file = path.join(BIN_DIR, name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: build it first (cargo build --workspace), or set HERO_LOGIC_BIN_DIR`);
  }
  return file;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, check, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    try {
      if (await check()) return;
    } catch (err) {
      last = String(err && err.message ? err.message : err);
    }
    await sleep(100);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms ${last}`);
}

function stopProcess(child, name) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    const timer = setTimeout(() => {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, 5000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    try { process.kill(child.pid, 'SIGTERM'); } catch { clearTimeout(timer); resolve(); }
  });
}

/** The admin's access token per base URL, for the JSON calls the tests make themselves. */
const tokens = new Map();

/** The header a script sends to the admin instead of the browser's login cookie. */
export function authHeaders(baseUrl) {
  const token = tokens.get(baseUrl);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The daemon and the admin, ready to serve; call stop() when done. */
export async function startStack() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hero_logic_ui_'));
  const socket = path.join(dataDir, 'hero_logic.sock');
  const serverLog = fs.openSync(path.join(dataDir, 'server.log'), 'a');
  const adminLog = fs.openSync(path.join(dataDir, 'admin.log'), 'a');
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' };
  const server = spawn(binary('hero_logic_server'), ['--data-dir', dataDir, '--seed-dir', path.join(ROOT, 'seed_logics')], {
    stdio: ['ignore', serverLog, serverLog], env,
  });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let admin = null;
  const stack = {
    baseUrl, dataDir, socket,
    pids: () => [server.pid, admin && admin.pid].filter(Boolean),
    async stop() {
      await stopProcess(admin, 'admin');
      await stopProcess(server, 'daemon');
      if (!process.env.KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
    },
    logs() {
      const read = (f) => { try { return fs.readFileSync(path.join(dataDir, f), 'utf8').slice(-4000); } catch { return ''; } };
      return `--- daemon log ---\n${read('server.log')}\n--- admin log ---\n${read('admin.log')}`;
    },
  };
  try {
    await waitFor('daemon socket', () => fs.existsSync(socket), 30000, server);
    admin = spawn(binary('hero_logic_admin'), ['--listen', `127.0.0.1:${port}`, '--socket', socket, '--data-dir', dataDir], {
      stdio: ['ignore', adminLog, adminLog], env,
    });
    await waitFor('admin', async () => {
      const res = await fetch(`${baseUrl}/healthz`);
      const body = await res.json();
      return body.ok && body.daemon;
    }, 30000, admin);
    // The link `hero_logic up` prints, printed again for this data dir and port.
    stack.loginUrl = execFileSync(binary('hero_logic'), ['admin-url', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
      encoding: 'utf8', env,
    }).trim();
    const token = new URL(stack.loginUrl).searchParams.get('token');
    if (!stack.loginUrl.startsWith(`${baseUrl}/?token=`) || !token) {
      throw new Error(`hero_logic admin-url printed ${JSON.stringify(stack.loginUrl)}, not a login link for ${baseUrl}`);
    }
    tokens.set(baseUrl, token);
  } catch (err) {
    const logs = stack.logs();
    await stack.stop();
    throw new Error(`${err.message}\n${logs}`);
  }
  return stack;
}

/** A JSON-RPC call through the admin's /rpc proxy. */
export async function rpc(baseUrl, method, params) {
  const res = await fetch(`${baseUrl}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders(baseUrl) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const answer = await res.json();
  if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
  return answer.result;
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * A fresh page that records every console error, uncaught exception and failed request;
 * `errors` is what a person would see in the console. With `stack`, the page first opens the
 * printed login link, as a person does, and lands on the dashboard logged in.
 */
export async function openPage(browser, viewport = { width: 1280, height: 720 }, stack = null) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${page.url()})`); });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message} (${page.url()})`));
  page.on('requestfailed', (req) => {
    const failure = req.failure();
    // A live stream torn down by leaving the page is not an error.
    if (failure && failure.errorText === 'net::ERR_ABORTED' && req.url().includes('/events')) return;
    errors.push(`request failed: ${req.url()} ${failure ? failure.errorText : ''}`);
  });
  page.setDefaultTimeout(15000);
  if (stack) await logIn(page, stack);
  return { page, context, errors };
}

/** Opens the login link; the admin sets its cookie and sends the page on without the token. */
export async function logIn(page, stack) {
  const response = await page.goto(stack.loginUrl);
  // Let the dashboard finish (its icon too), so the test's own first navigation aborts nothing.
  await page.waitForLoadState('networkidle');
  if (!response || response.status() !== 200 || page.url() !== `${stack.baseUrl}/`) {
    throw new Error(`the login link did not land on the dashboard: ${response && response.status()} at ${page.url()}`);
  }
}

let shotCount = 0;
/** Saves a screenshot of the page as NN-name.png in SCREENSHOT_DIR. */
export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  shotCount += 1;
  const file = path.join(SCREENSHOT_DIR, `${String(shotCount).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Empties the screenshot folder so a run only leaves its own pictures. */
export function resetScreenshots() {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const name of fs.readdirSync(SCREENSHOT_DIR)) {
    if (name.endsWith('.png')) fs.rmSync(path.join(SCREENSHOT_DIR, name), { force: true });
  }
}

/**
 * A test file's daemon, admin and browser: started before its tests, stopped after them with
 * every page opened through `newPage`. Returns accessors, as the stack exists only once the
 * file's `before` ran.
 */
export function browserSuite(viewport = { width: 1280, height: 720 }) {
  let stack = null;
  let browser = null;
  const pages = [];
  let started;
  const ready = new Promise((resolve) => { started = resolve; });
  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    started();
  });
  after(async () => {
    for (const { context } of pages) await context.close().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (stack) await stack.stop();
  });
  return {
    /** Resolves once the stack and browser are up: a file's own `before` awaits it first. */
    ready,
    baseUrl: () => stack.baseUrl,
    url: (path) => stack.baseUrl + path,
    async newPage() {
      const opened = await openPage(browser, viewport, stack);
      pages.push(opened);
      return opened;
    },
  };
}

/** Fails on console errors, except fetches aborted by going to the next page (no person sees those). */
export function assertNoConsoleErrors(errors) {
  const real = errors.filter((e) => !/net::ERR_ABORTED$/.test(e.trim()));
  assert.deepEqual(real, [], `console errors:\n${real.join('\n')}`);
}

/** Opens a Logic's view at `logicUrl` in its mapping editor, with `target` picked to bind to. */
export async function openMappingTo(page, logicUrl, target) {
  await page.goto(logicUrl);
  await page.locator('#tab-source').click();
  await page.locator('#mode-mapping').click();
  await page.locator(`#map-target option[value="${target}"]`).waitFor({ state: 'attached' });
  await page.locator('#map-target').selectOption(target);
}
