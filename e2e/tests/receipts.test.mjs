// Receipts that fill in the expense, in the browser: a photo input that opens the camera on a
// phone, two receipts dropped at once becoming two drafts (each sent with progress), the read
// values shown with their confidence, and accepting all of them, or the ticked ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOutlay, startBrowser, signIn, shot, axeViolations, reportState } from './harness.mjs';

const fixtures = join(import.meta.dirname, '..', '..', 'crates', 'outlay', 'tests', 'fixtures');
const FACTUR_X = readFileSync(join(fixtures, 'factur-x.pdf'));
const TILL_US = readFileSync(join(fixtures, 'till-us.png'));

let server;
let browser;

before(async () => { server = await startOutlay(); browser = await startBrowser(); });
after(async () => { await browser?.close(); server?.child.kill(); });

// Opens the draft whose reading names `merchant`, once its receipt has been read.
async function draftReadAs(page, base, merchant) {
  for (let attempt = 0; attempt < 30; attempt++) {
    await page.goto(`${base}/expenses`);
    const links = await page.locator('tr:has(.state-draft) td[data-label=Merchant] a').evaluateAll((as) => as.map((a) => a.href));
    for (const href of links) {
      await page.goto(href);
      if (await page.locator('.reading td[data-label=Read]', { hasText: merchant }).count()) return href;
    }
    await page.waitForTimeout(1000);
  }
  throw new Error(`no draft was read as ${merchant}`);
}

test('receipts dropped at once become drafts that are filled in from what they say', async () => {
  const { page } = await signIn(browser, server.base, 'employee');
  await page.goto(`${server.base}/expenses`);
  // On a phone, the photo input opens the camera; the drop zone takes several files.
  const form = page.locator('form.receipts-in');
  assert.equal(await form.locator('input[capture=environment]').count(), 1);
  assert.equal(await form.locator('.dropzone input[type=file][multiple]').count(), 1);

  // Two receipts dropped at once: each is sent on its own, and the progress bar shows.
  const sent = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/expenses/from-receipts')) sent.push(r.url()); });
  const drop = await page.evaluateHandle(([pdf, png]) => {
    const dt = new DataTransfer();
    const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes(pdf)], 'taxi-invoice.pdf', { type: 'application/pdf' }));
    dt.items.add(new File([bytes(png)], 'hardware.png', { type: 'image/png' }));
    dt.items.add(new File(['not a receipt'], 'notes.txt', { type: 'text/plain' }));
    return dt;
  }, [FACTUR_X.toString('base64'), TILL_US.toString('base64')]);
  await form.locator('.dropzone').dispatchEvent('drop', { dataTransfer: drop });
  assert.equal(await form.locator('.preview p').count(), 3, 'every file is previewed');
  // Each is sent on its own; the refused one is named, and the page stays to say so.
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => /Refused/.test(document.querySelector('.progress-text').textContent));
  const said = await form.locator('.progress-text').textContent();
  assert.match(said, /2 of 3 added\. Refused: notes\.txt: /);
  assert.equal(sent.length, 3, 'one request per file');
  assert.equal(await form.locator('progress').getAttribute('value'), '100');
  await page.goto(`${server.base}/expenses`);
  assert.ok(await page.locator('.state-draft').count() >= 2, 'two drafts are listed');

  // The e-invoice's draft: its data read exactly; accept all of it.
  const invoice = await draftReadAs(page, server.base, 'Taxi Berlin Mitte');
  assert.match(await page.locator('.reading').textContent(), /e-invoice/);
  assert.match(await page.locator('.reading tr:has(input[value=total])').textContent(), /129\.03.*100 %/s);
  assert.deepEqual(await axeViolations(page), [], 'the draft with its reading');
  await shot(page, 'receipt-reading');
  await Promise.all([page.waitForURL(invoice), page.click('button:text("Accept all")')]);
  assert.equal(await page.locator('input[name=merchant]').inputValue(), 'Taxi Berlin Mitte');
  assert.equal(await page.locator('input[name=amount]').inputValue(), '129.03');
  assert.equal(await page.locator('.reading .warn', { hasText: 'made from a receipt' }).count(), 0, 'no longer a draft');
  assert.equal(await page.locator('.reading .ok', { hasText: 'accepted' }).count(), 5);

  // The photo's draft, read by OCR: accept the amount and merchant only.
  const photo = await draftReadAs(page, server.base, 'Corner Hardware');
  const amount = await page.locator('.reading tr:has(input[value=total])').textContent();
  assert.match(amount, /34\.44/);
  const shown = await page.locator('.reading tr:has(input[value=total]) td[data-label=Confidence]').textContent();
  const confidence = Number(/(\d+) %/.exec(shown)[1]);
  assert.ok(confidence > 50 && confidence < 100, `OCR is not certain: ${confidence} %`);
  for (const field of ['date', 'currency', 'tax']) await page.uncheck(`.reading input[value=${field}]`);
  await Promise.all([page.waitForURL(photo), page.click('button:text("Accept the ticked ones")')]);
  assert.equal(await page.locator('input[name=merchant]').inputValue(), 'Corner Hardware');
  assert.equal(await page.locator('input[name=amount]').inputValue(), '34.44');
  assert.equal(await page.locator('.reading .ok', { hasText: 'accepted' }).count(), 2);

  // Its date was not taken from the receipt: the approver sees on the report that the receipt
  // and the claim disagree, with the receipt's own words.
  await page.goto(`${server.base}/reports`);
  await page.fill('input[name=title]', 'Hardware');
  await page.check(`input[name=expense_ids][value="${photo.split('/').pop()}"]`);
  await Promise.all([page.waitForURL(/\/reports\/[0-9a-f-]{36}$/), page.click('text=Create report')]);
  const report = page.url();
  await Promise.all([page.waitForURL(report), page.click('text=Submit for approval')]);
  assert.equal(await reportState(page), 'pending manager');
  const { page: mgr } = await signIn(browser, server.base, 'manager');
  await mgr.goto(report);
  const flags = await mgr.locator('td[data-label=Policy] .flag').allTextContents();
  assert.equal(flags.length, 1, flags.join(' | '));
  assert.match(flags[0], /Receipt check: the receipt is dated 2026-07-30 \(".*"\), \d+ days from the claimed/);
  assert.deepEqual(await axeViolations(mgr), [], 'the report with a receipt check');
  await shot(mgr, 'report-receipt-check');
});
