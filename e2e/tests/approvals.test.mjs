// Approvals that fit a real company: the route explained on a draft, and one line rejected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOutlay, startBrowser, signIn, shot, addExpense, reportPage, reportState, axeViolations } from './harness.mjs';

let server;
let browser;

before(async () => { server = await startOutlay(); browser = await startBrowser(); });
after(async () => { await browser?.close(); server?.child.kill(); });

test('an approver rejects one line: the rest stays at its step, and the line goes back with the reason', async () => {
  // The employee: two small expenses in one report, whose route is explained before submitting.
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await addExpense(emp, server.base, { merchant: 'Airport Taxi', category: 'travel', amount: '40.00' });
  const lunch = await addExpense(emp, server.base, { merchant: 'Steakhouse', category: 'meals', amount: '60.00' });
  const reportUrl = await reportPage(emp, server.base, 'Client visit');
  assert.match(await emp.locator('h2', { hasText: 'Who will decide' }).textContent(), /Who will decide/);
  const route = await emp.locator('ol.steps li').allTextContents();
  assert.deepEqual(route.map((r) => r.split(' · ')[0].trim()), ['manager', 'finance']);
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  assert.equal(await reportState(emp), 'pending manager');

  // The manager rejects the lunch alone.
  const { page: mgr } = await signIn(browser, server.base, 'manager');
  await mgr.goto(reportUrl);
  const row = mgr.locator('tr', { hasText: 'Steakhouse' });
  await row.locator('summary', { hasText: 'Reject this line' }).click();
  await row.locator('textarea[name=reason]').fill('Client lunches go on the client budget');
  assert.deepEqual(await axeViolations(mgr), [], 'the report page with a line form open');
  await shot(mgr, 'reject-line');
  await Promise.all([mgr.waitForURL(reportUrl), row.locator('button', { hasText: 'Reject line' }).click()]);
  assert.equal(await reportState(mgr), 'pending manager', 'the report stays at its step');
  assert.equal(await mgr.locator('tbody tr').count(), 1);
  assert.match(await mgr.locator('.summary').textContent(), /40\.00 USD/);

  // The employee finds the line unreported, with the reason.
  await emp.goto(`${server.base}/expenses/${lunch}`);
  assert.match(await emp.locator('p.error').textContent(), /Rejected from a report: Client lunches go on the client budget/);
  await emp.goto(`${server.base}/expenses`);
  assert.match(await emp.locator('tr', { hasText: 'Steakhouse' }).textContent(), /line rejected/);
});

test('a manager sets out of office; the delegate finds the report marked for her and decides it', async () => {
  // A small report waits for Mia Manager.
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await addExpense(emp, server.base, { merchant: 'Train', category: 'travel', amount: '35.00' });
  const reportUrl = await reportPage(emp, server.base, 'Team offsite');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);

  // Mia is away from today; Sam Senior decides for her.
  const { page: mgr } = await signIn(browser, server.base, 'manager');
  await mgr.goto(`${server.base}/settings`);
  await mgr.selectOption('select[name=delegate_id]', { label: 'Sam Senior' });
  const today = await mgr.locator('input[name=from]').inputValue();
  const later = new Date(Date.parse(today) + 6 * 86400000).toISOString().slice(0, 10);
  await mgr.fill('input[name=until]', later);
  assert.deepEqual(await axeViolations(mgr), [], 'the settings page with out of office');
  await shot(mgr, 'out-of-office');
  await Promise.all([mgr.waitForURL(/\/settings$/), mgr.click('text=Set out of office')]);
  assert.match(await mgr.locator('#away p.ok').textContent(), new RegExp(`to ${later}, Sam Senior decides`));

  // Sam finds it in his queue, marked for Mia, and approves it.
  const { page: sen } = await signIn(browser, server.base, 'senior');
  await sen.goto(`${server.base}/approvals`);
  const row = sen.locator('tr', { hasText: 'Team offsite' });
  assert.match(await row.textContent(), /for Mia Manager/);
  await shot(sen, 'approvals-for-someone');
  await Promise.all([sen.waitForURL(reportUrl), row.locator('a', { hasText: 'Team offsite' }).click()]);
  assert.match(await sen.locator('ol.steps li').first().textContent(), /Sam Senior\s+for Mia Manager/);
  await Promise.all([sen.waitForURL(reportUrl), sen.click('button:text("Approve")')]);
  assert.equal(await reportState(sen), 'pending finance');

  // Mia comes back early.
  await mgr.goto(`${server.base}/settings`);
  await Promise.all([mgr.waitForURL(/\/settings$/), mgr.click('text=End it now')]);
  assert.match(await mgr.locator('[role=status]').first().textContent(), /back with you|Out of office ended/);
});
