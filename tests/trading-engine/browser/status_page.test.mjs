// Browser test of the venue's status page: a real trading-engine (the demo venue file, with
// credit and position limits) trading under fix_load's demo flow, and Debian's headless Chromium
// driven by playwright-core (installed with the MES browser test's packages). The page must show
// what /status.json says — the traded symbol's volume, both accounts' opposite positions, a kill
// switch and a halt engaged through the admin API, the guardrail's verdict — with no console
// error (the CSP forbids inline script and style), and say so when the venue stops answering.
// Screenshots go to $VENUE_SCREENSHOT_DIR (default build/artifacts/browser-venue).
// Usage: node status_page.test.mjs  (TRADING_ENGINE_BINARY, FIX_LOAD_BINARY, VENUE_FILE)
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { freePort } from '../../support/free_port.mjs';

const require = createRequire(new URL('../../pharma-mes/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const binary = process.env.TRADING_ENGINE_BINARY;
const fixLoad = process.env.FIX_LOAD_BINARY;
const venueFile = process.env.VENUE_FILE;
assert.ok(binary && fixLoad && venueFile, 'TRADING_ENGINE_BINARY, FIX_LOAD_BINARY and VENUE_FILE');
const shots = process.env.VENUE_SCREENSHOT_DIR || 'build/artifacts/browser-venue';
mkdirSync(shots, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'venue-browser-'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const httpPort = await freePort();
const token = 'status-page-test-token';
const venue = spawn(binary, [`--http.port=${httpPort}`, '--fix.port=0', `--fix.port_file=${dir}/fix.port`,
  `--venue.file=${venueFile}`, `--journal.directory=${dir}/journal`, `--fix.store_directory=${dir}/store`,
  `--guardrail.evidence_path=${dir}/evidence.jsonl`, `--admin.token=${token}`, '--log.level=warn',
  '--guardrail.min_samples=10'], { stdio: ['ignore', 'inherit', 'inherit'] });
const base = `http://127.0.0.1:${httpPort}`;
for (let i = 0; ; i++) {
  try { if (existsSync(`${dir}/fix.port`) && (await fetch(base + '/readyz')).ok) break; } catch (e) { /* not yet */ }
  assert.ok(i < 200, 'trading-engine did not become ready');
  await sleep(50);
}
const fixPort = readFileSync(`${dir}/fix.port`, 'utf8').trim();

// Two accounts trade with each other for a few seconds (BOB on CLIENT2, CAROL on DEMOFLOW).
const flows = ['CLIENT2', 'DEMOFLOW'].map((sender) => spawn(fixLoad, ['--port', fixPort, '--sender', sender,
  '--mode', 'rate', '--demo', '1', '--rate', '50', '--orders', '150', '--warmup', '1', '--window', '16'],
  { stdio: 'ignore' }));
await Promise.all(flows.map((p) => new Promise((r) => p.once('exit', r))));
const admin = (path, body) => fetch(base + path, { method: 'POST', body: JSON.stringify(body),
  headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' } });
assert.equal((await admin('/admin/v1/kill-switch', { account: 'ALICE', engaged: true, reason: 'browser test' })).status, 200);
assert.equal((await admin('/admin/v1/halt', { symbol: 'BETA', reason: 'browser test' })).status, 200);
await sleep(1200);  // the engine publishes its state to the figures at least once a second

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
let step = 0;
const shot = async (name) => {
  step += 1;
  await page.screenshot({ path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
};
const row = (table, first) => page.locator(`#${table} tbody tr`, { has: page.locator(`td:first-child:text-is("${first}")`) });

try {
  const headers = (await fetch(base + '/status')).headers;
  assert.match(headers.get('content-security-policy') || '', /default-src 'self'/);
  const doc = (await (await fetch(base + '/status.json')).json()).data;
  const acme = doc.symbols.find((s) => s.symbol === 'ACME');
  assert.ok(acme.volume > 0, 'the demo flow traded ACME');
  const bob = doc.accounts.find((a) => a.account === 'BOB');
  const carol = doc.accounts.find((a) => a.account === 'CAROL');
  assert.equal(bob.positions.ACME, -carol.positions.ACME, 'BOB and CAROL hold opposite positions');
  assert.ok(Math.abs(bob.realised_pnl + carol.realised_pnl) < 1e-6, 'a zero-sum venue');

  await page.goto(base + '/status');
  await page.waitForSelector('#symbols tbody tr');
  await page.waitForFunction(() => document.getElementById('updated').textContent.startsWith('updated'));
  // The market table shows the volume /status.json reported (the flow has stopped: it is stable).
  await assert.doesNotReject(row('symbols', 'ACME').locator('td').nth(2)
    .filter({ hasText: acme.volume.toLocaleString('en-US') }).waitFor({ timeout: 5000 }));
  assert.equal(await row('symbols', 'BETA').locator('td').nth(6).textContent(), 'HALTED');
  assert.equal(await row('symbols', 'ACME').locator('td').nth(6).textContent(), 'trading');
  assert.equal(await row('accounts', 'ALICE').locator('td').nth(7).textContent(), 'ENGAGED');
  assert.equal(await row('accounts', 'BOB').locator('td').nth(7).textContent(), 'off');
  const bobPositions = await row('accounts', 'BOB').locator('td').nth(1).textContent();
  assert.ok(bob.positions.ACME === undefined ? bobPositions === 'flat'
    : bobPositions.includes('ACME ' + bob.positions.ACME.toLocaleString('en-US')), bobPositions);
  // Credit used: BOB's limit is configured (the venue file), so a percentage, not "no limit".
  assert.match(await row('accounts', 'BOB').locator('td').nth(4).textContent(), /%$/);
  assert.match(await page.locator('#verdict').textContent(), /^guardrail: (promote|hold|rollback)$/);
  assert.match(await page.locator('#sessions').textContent(), /^\d+ of 4$/);  // three traders and the drop copy
  assert.equal(await page.locator('#role').textContent(), 'primary');
  await shot('status-trading');

  // The venue stops: the page says its figures are stale instead of showing them as current.
  venue.kill('SIGTERM');
  await new Promise((r) => venue.once('exit', r));
  await page.waitForSelector('#error:not([hidden])', { timeout: 10000 });
  assert.match(await page.locator('#error').textContent(), /does not answer/);
  await shot('status-venue-gone');
  const unexpected = consoleErrors.filter((e) => !/Failed to fetch|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e));
  assert.deepEqual(unexpected, [], 'console errors');
  console.log(`venue status page test passed: ${step} screenshots in ${shots}`);
} catch (e) {
  await shot('failure').catch(() => {});
  console.error(e);
  console.error('browser console errors:', consoleErrors);
  process.exitCode = 1;
} finally {
  await browser.close();
  if (venue.exitCode === null) {
    venue.kill('SIGTERM');
    await new Promise((r) => venue.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
}
