// Cash advances in the browser: Eve asks for one, Mia approves it, Pat pays it out, nets it
// against Eve's approved report and records what she paid back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOutlay, startBrowser, signIn, shot, addExpense, reportPage, axeViolations } from './harness.mjs';

let server;
let browser;

before(async () => { server = await startOutlay(); browser = await startBrowser(); });
after(async () => { await browser?.close(); server?.child.kill(); });

test('an advance is asked for, approved, paid out, netted against a report and paid back', async () => {
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await emp.goto(`${server.base}/advances`);
  // A purpose of only spaces is refused with the reason.
  const form = emp.locator('#request');
  await form.locator('input[name=amount]').fill('150.00');
  await form.locator('input[name=currency]').fill('USD');
  await form.locator('input[name=purpose]').fill('   ');
  await Promise.all([emp.waitForURL(/\/advances$/), form.locator('button[type=submit]').click()]);
  assert.match(await emp.locator('.error').first().textContent(), /purpose/);
  await form.locator('input[name=amount]').fill('150.00');
  await form.locator('input[name=currency]').fill('USD');
  await form.locator('input[name=purpose]').fill('Trade fair in Chicago');
  await Promise.all([emp.waitForURL(/\/advances\/[0-9a-f-]{36}$/), form.locator('button[type=submit]').click()]);
  const advanceUrl = emp.url();
  assert.equal((await emp.locator('#state').textContent()).trim(), 'requested');
  assert.deepEqual(await axeViolations(emp), [], 'the advance page');

  // Mia, Eve's manager, approves it.
  const { page: mgr } = await signIn(browser, server.base, 'manager');
  await mgr.goto(advanceUrl);
  await Promise.all([mgr.waitForURL(advanceUrl), mgr.click('button:text("Approve")')]);
  assert.equal((await mgr.locator('#state').textContent()).trim(), 'approved');

  // A report of Eve's is approved by Mia and Fay.
  await addExpense(emp, server.base, { merchant: 'Booth rental', category: 'meals', amount: '60.00' });
  const reportUrl = await reportPage(emp, server.base, 'Chicago fair');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  for (const page of [mgr, (await signIn(browser, server.base, 'finance')).page]) {
    await page.goto(reportUrl);
    await Promise.all([page.waitForURL(reportUrl), page.click('button:text("Approve")')]);
  }

  // Pat pays the advance out, nets it against the report, and records the rest paid back.
  const { page: pay } = await signIn(browser, server.base, 'payer');
  await pay.goto(advanceUrl);
  await pay.fill('input[name=text]', 'ADV-2026-001');
  await Promise.all([pay.waitForURL(advanceUrl), pay.click('text=Mark paid out')]);
  assert.equal((await pay.locator('#state').textContent()).trim(), 'paid out');
  const option = pay.locator('select[name=report_id] option', { hasText: 'Chicago fair' });
  await pay.selectOption('select[name=report_id]', await option.getAttribute('value'));
  await Promise.all([pay.waitForURL(advanceUrl), pay.click('text=Net it against the report')]);
  assert.match(await pay.locator('#outstanding').textContent(), /90\.00 USD/);
    assert.match(await pay.locator('#settled').textContent(), /60\.00 USD by report/);
  // The report says it has nothing left to pay, so nobody pays it twice by hand.
  await pay.goto(reportUrl);
  assert.match(await pay.locator('#payable').textContent(), /A cash advance settled 60\.00; to pay 0\.00 USD/);
  await pay.goto(advanceUrl);
  assert.deepEqual(await axeViolations(pay), [], 'the advance page for finance');
  await pay.fill('form:has-text("Record a repayment") input[name=text]', 'IN-77');
  await Promise.all([pay.waitForURL(advanceUrl), pay.click('text=Record the repayment')]);
  assert.equal((await pay.locator('#state').textContent()).trim(), 'settled');
  await shot(pay, 'advance');

  // Eve sees it settled in her list.
  await emp.goto(`${server.base}/advances`);
  assert.match(await emp.locator('#advances').textContent(), /Trade fair in Chicago.*settled/s);
});
