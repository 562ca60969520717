// Starts `outlay demo` on a free port with a fresh data folder, and Debian's Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const shots = join(root, 'e2e', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on('error', reject);
  });
}

// `seedVolume`: the demo company with a few weeks of history (`outlay demo --seed-volume`).
export async function startOutlay({ seedVolume = false } = {}) {
  const bin = process.env.OUTLAY_BIN || join(root, 'target', 'debug', 'outlay');
  if (!existsSync(bin)) throw new Error(`no outlay binary at ${bin}: run cargo build first`);
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'outlay-e2e-'));
  const args = ['demo', '--addr', `127.0.0.1:${port}`, '--data-dir', data];
  if (seedVolume) args.push('--seed-volume');
  const child = spawn(bin, args, {
    env: { ...process.env, OUTLAY_LOG: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 3000; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) return { base, child, data }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('outlay did not start');
}

export async function startBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
  }
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A signed-in page for one of the demo users.
export async function signIn(browser, base, who, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#email', `${who}@example.com`);
  await page.fill('#password', 'demo-password');
  await Promise.all([page.waitForURL(/\/expenses$/), page.click('button[type=submit]')]);
  return { context, page };
}

// Adds an expense dated today through the expense form, and answers its id.
export async function addExpense(page, base, { merchant, category, amount }) {
  await page.goto(`${base}/expenses`);
  await page.fill('input[name=date]', new Date().toISOString().slice(0, 10));
  await page.fill('input[name=merchant]', merchant);
  await page.selectOption('select[name=category]', category);
  await page.fill('input[name=amount]', amount);
  await Promise.all([page.waitForURL(/\/expenses\/[0-9a-f-]{36}$/), page.click('text=Add expense')]);
  return page.url().split('/').pop();
}

// Creates a report of every unreported expense, and answers its page's address.
export async function reportPage(page, base, title) {
  await page.goto(`${base}/reports`);
  await page.fill('input[name=title]', title);
  for (const box of await page.locator('input[name=expense_ids]').all()) await box.check();
  await Promise.all([page.waitForURL(/\/reports\/[0-9a-f-]{36}$/), page.click('text=Create report')]);
  return page.url();
}

// The state badge of the report page shown.
export async function reportState(page) {
  return (await page.locator('.summary .state').textContent()).trim();
}

export async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// A real 1x1 PNG.
export const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082', 'hex');

// A receipt-looking PNG drawn in the browser, so screenshots show something real.
export async function receiptPng(page, lines) {
  const dataUrl = await page.evaluate((text) => {
    const canvas = document.createElement('canvas');
    canvas.width = 240; canvas.height = 300;
    const g = canvas.getContext('2d');
    g.fillStyle = '#fffdf5'; g.fillRect(0, 0, 240, 300);
    g.fillStyle = '#222'; g.font = 'bold 18px monospace';
    text.forEach((line, i) => { g.fillText(line, 16, 40 + i * 32); g.font = '15px monospace'; });
    return canvas.toDataURL('image/png');
  }, lines);
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

// axe-core's own script, injected into pages to audit them.
const AXE = readFileSync(join(root, 'e2e', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// The WCAG 2.x A and AA violations axe-core finds on the page, one line each.
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (it forbids inline scripts).
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return result.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length} node(s): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`);
}
