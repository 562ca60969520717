// Money out, claims: mileage and per diem forms that show the computed amount as they are
// filled in, and the claim's breakdown on its expense page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOutlay, startBrowser, signIn, shot, axeViolations } from './harness.mjs';

let server;
let browser;

before(async () => { server = await startOutlay(); browser = await startBrowser(); });
after(async () => { await browser?.close(); server?.child.kill(); });

const day = (ago) => new Date(Date.now() - ago * 86400000).toISOString().slice(0, 10);

test('a mileage claim shows its amount live and is recorded at the rate of its day', async () => {
  const { page } = await signIn(browser, server.base, 'employee');
  await page.goto(`${server.base}/expenses`);
  await page.click('summary:has-text("Claim mileage")');
  const form = page.locator('form.claim-form', { has: page.locator('input[name=kind][value=mileage]') });
  await form.locator('input[name=date]').fill(day(1));
  await form.locator('select[name=unit]').selectOption('mi');
  await form.locator('input[name=distance]').fill('120');
  await form.locator('input[name=from]').fill('Office');
  await form.locator('input[name=to]').fill('Acme Corp');
  // 120 miles at the IRS rate of 2026, 0.725 USD
  await assert.doesNotReject(form.locator('p.quote', { hasText: '87.00 USD' }).waitFor());
  assert.match(await form.locator('p.quote').textContent(), /120 mi at 0\.725 per mi/);
  assert.deepEqual(await axeViolations(page), [], 'the expenses page with the mileage form open');
  await shot(page, 'mileage-form');
  await Promise.all([page.waitForURL(/\/expenses\/[0-9a-f-]{36}$/), form.locator('button[type=submit]').click()]);
  assert.match(await page.locator('p.claim-summary').textContent(), /Mileage: 120 mi by car from Office to Acme Corp, at 0\.725 per mi/);
  assert.equal(await page.locator('input[name=amount]').inputValue(), '87.00');
  assert.equal(await page.locator('input[name=amount]').getAttribute('readonly'), '');
  // Saving the details (a new purpose) keeps the computed amount.
  await page.locator('input[name=description]').fill('Quarterly review at Acme');
  await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Save")')]);
  assert.equal(await page.locator('input[name=amount]').inputValue(), '87.00');
  assert.equal(await page.locator('.error').count(), 0);

  // A distance the form cannot price says why, before anything is saved.
  await page.goto(`${server.base}/expenses`);
  await page.click('summary:has-text("Claim mileage")');
  await form.locator('select[name=vehicle]').selectOption('bicycle');
  await form.locator('input[name=distance]').fill('5');
  await assert.doesNotReject(form.locator('p.quote.error', { hasText: 'no bicycle mileage rate' }).waitFor());
});

test('a per diem claim offers each day for its meals and shows its breakdown', async () => {
  const { page } = await signIn(browser, server.base, 'employee');
  await page.goto(`${server.base}/expenses`);
  await page.click('summary:has-text("Claim per diem")');
  const form = page.locator('form.claim-form', { has: page.locator('input[name=kind][value=per_diem]') });
  await form.locator('select[name=country]').selectOption('US');
  await form.locator('input[name=from]').fill(`${day(3)}T08:00`);
  await form.locator('input[name=until]').fill(`${day(1)}T18:30`);
  // One row of meal boxes per day; breakfast at the hotel on the middle day.
  assert.equal(await form.locator('.meal-day').count(), 3);
  await form.locator(`input[name=breakfast][value="${day(2)}"]`).check();
  // 51 + (68 - 16) + 51 under the GSA's standard rate
  await assert.doesNotReject(form.locator('p.quote', { hasText: '154.00 USD' }).waitFor());
  assert.deepEqual(await axeViolations(page), [], 'the expenses page with the per diem form open');
  await shot(page, 'per-diem-form');
  await Promise.all([page.waitForURL(/\/expenses\/[0-9a-f-]{36}$/), form.locator('button[type=submit]').click()]);
  const rows = await page.locator('table.breakdown tbody tr').allTextContents();
  assert.equal(rows.length, 3);
  assert.match(rows[1], /full day.*68\.00.*breakfast −16\.00.*52\.00 USD/);
  assert.match(await page.locator('h1').textContent(), /154\.00 USD/);
  await shot(page, 'per-diem-expense');
});

test('finance adds a rate to the mileage table, and a claim is priced at it at once', async () => {
  const { page: fin } = await signIn(browser, server.base, 'finance');
  await fin.goto(`${server.base}/policy`);
  await Promise.all([fin.waitForURL(/\/allowances$/), fin.click('text=their own page')]);
  // A bicycle rate per kilometre, in the blank row after the existing ones.
  const rows = fin.locator('fieldset', { hasText: 'Mileage' }).locator('tbody tr');
  const row = rows.nth((await rows.count()) - 2);
  await row.locator('select[name=m_vehicle]').selectOption('bicycle');
  await row.locator('select[name=m_unit]').selectOption('km');
  await row.locator('input[name=m_rate]').fill('0.25');
  await row.locator('input[name=m_currency]').fill('EUR');
  await row.locator('input[name=m_from]').fill('2026-01-01');
  assert.deepEqual(await axeViolations(fin), [], 'the rate tables page');
  await shot(fin, 'rate-tables');
  await Promise.all([fin.waitForURL(/\/allowances$/), fin.click('text=Save the rate tables')]);
  assert.match(await fin.locator('p.ok').textContent(), /rate tables are saved/);

  const { page } = await signIn(browser, server.base, 'employee');
  await page.goto(`${server.base}/expenses`);
  await page.click('summary:has-text("Claim mileage")');
  const form = page.locator('form.claim-form', { has: page.locator('input[name=kind][value=mileage]') });
  await form.locator('input[name=date]').fill(day(1));
  await form.locator('select[name=vehicle]').selectOption('bicycle');
  await form.locator('input[name=distance]').fill('10');
  await assert.doesNotReject(form.locator('p.quote', { hasText: '2.50 EUR' }).waitFor());
});
