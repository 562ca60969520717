// Every role does its whole job in the browser, as the demo users.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOutlay, startBrowser, signIn, shot, receiptPng, addExpense, reportPage, reportState as state } from './harness.mjs';

let server;
let browser;

before(async () => { server = await startOutlay(); browser = await startBrowser(); });
after(async () => { await browser?.close(); server?.child.kill(); });

test('a report over the senior threshold goes from the employee through every approver to payment', async () => {
  // The employee: two expenses, one with a PNG receipt, a report over 1,000.00, submitted.
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await addExpense(emp, server.base, { merchant: 'Grand Hotel', category: 'travel', amount: '1200.00' });
  assert.match(await emp.locator('ul.violations').textContent(), /receipt is required/);
  const png = await receiptPng(emp, ['GRAND HOTEL', 'Berlin', '3 nights', 'Room  1100.00', 'Tax    100.00', 'TOTAL 1200.00']);
  await emp.setInputFiles('input[type=file]', { name: 'hotel.png', mimeType: 'image/png', buffer: png });
  assert.equal(await emp.locator('.preview img').count(), 1, 'the chosen image is previewed');
  await shot(emp, 'expense');
  await Promise.all([emp.waitForURL(/\/expenses\/[0-9a-f-]{36}$/), emp.click('text=Upload receipt')]);
  assert.equal(await emp.locator('figure.receipt img').count(), 1, 'the receipt is shown');
  assert.match(await emp.locator('p.ok').first().textContent(), /No policy issues/);
  await addExpense(emp, server.base, { merchant: 'City Cabs', category: 'travel', amount: '45.00' });
  await emp.goto(`${server.base}/expenses`);
  await shot(emp, 'expenses');
  const reportUrl = await reportPage(emp, server.base, 'Berlin conference');
  assert.match(await emp.locator('.summary').textContent(), /1245\.00 USD/);
  // Before submitting, the draft says who will decide and why.
  const route = await emp.locator('ol.steps li').allTextContents();
  assert.equal(route.length, 3, route.join(' | '));
  assert.match(route[0], /Mia Manager[\s\S]*is the submitter's manager/);
  assert.match(route[1], /total 1,245\.00 USD is over the senior threshold of 1,000\.00 USD/);
  assert.match(route[2], /finance approves every report/);
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  assert.equal(await state(emp), 'pending manager');

  // The manager and the senior approve from their inbox.
  const { page: mgr } = await signIn(browser, server.base, 'manager');
  await mgr.goto(`${server.base}/approvals`);
  await shot(mgr, 'approvals');
  await Promise.all([mgr.waitForURL(reportUrl), mgr.click('text=Berlin conference')]);
  assert.equal(await mgr.locator('figure.receipt img').count(), 1, 'the approver sees the receipt inline');
  await mgr.fill('input[name=comment]', 'Good trip');
  await shot(mgr, 'report-approver');
  await Promise.all([mgr.waitForURL(reportUrl), mgr.click('button:text("Approve")')]);
  assert.equal(await state(mgr), 'pending senior');
  const { page: sen } = await signIn(browser, server.base, 'senior');
  await sen.goto(reportUrl);
  await Promise.all([sen.waitForURL(reportUrl), sen.click('button:text("Approve")')]);
  assert.equal(await state(sen), 'pending finance');

  // Finance approves; the payer pays it from the payments list.
  const { page: fin } = await signIn(browser, server.base, 'finance');
  await fin.goto(`${server.base}/approvals`);
  await Promise.all([fin.waitForURL(reportUrl), fin.click('text=Berlin conference')]);
  await Promise.all([fin.waitForURL(reportUrl), fin.click('button:text("Approve")')]);
  assert.equal(await state(fin), 'approved');
  assert.equal(await fin.locator('text=Mark paid').count(), 0, 'the finance approver may not pay');
  const { page: pay } = await signIn(browser, server.base, 'payer');
  await pay.goto(`${server.base}/payments`);
  await pay.check('input[name=ids]');
  await pay.fill('input[name=reference]', 'TX-2026-0042');
  await shot(pay, 'payments');
  await pay.click('text=Pay selected');
  assert.match(await pay.locator('p.ok').textContent(), /1 report\(s\) marked paid/);

  // The employee sees it paid, the timeline, and the notification.
  await emp.goto(reportUrl);
  assert.equal(await state(emp), 'paid');
  assert.match(await emp.locator('p.ok').textContent(), /TX-2026-0042/);
  const timeline = await emp.locator('ol.timeline').textContent();
  for (const step of ['create', 'submit', 'approve', 'pay']) assert.match(timeline, new RegExp(step));
  await shot(emp, 'report-paid');
  assert.equal((await emp.locator('header .badge').textContent()).trim(), '1');
  await emp.goto(`${server.base}/notifications`);
  assert.match(await emp.locator('ul.notes').textContent(), /was paid/);
  await shot(emp, 'notifications');

  // Finance's overview pages and the admin's pages render.
  await fin.goto(`${server.base}/spend`);
  assert.equal(await fin.locator('table.bars').count(), 3, 'by category, month and cost centre');
  assert.match(await fin.locator('table.bars').first().textContent(), /travel/);
  assert.match(await fin.locator('table.bars').nth(2).textContent(), /ENG · Engineering\s*1245\.00/);
  await shot(fin, 'spend');
  const csv = await fin.request.get(`${server.base}/reports.csv`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /Berlin conference,Eve Employee,employee@example.com,paid,1245.00,1245.00,0.00,USD/);
  await fin.goto(`${server.base}/policy`);
  await shot(fin, 'policy');
  await fin.goto(`${server.base}/rates`);
  await fin.fill('input[name=currency]', 'EUR');
  await fin.fill('input[name=rate]', '1.0850');
  await Promise.all([fin.waitForURL(/\/rates$/), fin.click('text=Add rate')]);
  assert.match(await fin.locator('table').textContent(), /EUR\s*1\.085/);
  const { page: adm } = await signIn(browser, server.base, 'admin');
  await adm.goto(`${server.base}/admin/users`);
  await shot(adm, 'users');
  await adm.goto(`${server.base}/admin/audit/verify`);
  assert.match(await adm.locator('p.ok').textContent(), /intact/);
  await shot(adm, 'audit');
});

test('a rejected report shows its reason and is resubmitted', async () => {
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await addExpense(emp, server.base, { merchant: 'Office Depot', category: 'office', amount: '30.00' });
  const reportUrl = await reportPage(emp, server.base, 'Printer paper');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  const { page: mgr } = await signIn(browser, server.base, 'manager');
  await mgr.goto(reportUrl);
  await mgr.fill('textarea[name=reason]', 'Use the team budget code');
  await Promise.all([mgr.waitForURL(reportUrl), mgr.click('button:text("Reject")')]);
  await emp.goto(reportUrl);
  assert.equal(await state(emp), 'rejected');
  assert.match(await emp.locator('p.error').textContent(), /Use the team budget code/);
  await shot(emp, 'report-rejected');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  assert.equal(await state(emp), 'pending manager');
});

test('pages that are not yours answer 403 or 404 pages, and forms without a CSRF token are refused', async () => {
  const { page: mgr } = await signIn(browser, server.base, 'manager');
  await addExpense(mgr, server.base, { merchant: 'Books', category: 'office', amount: '20.00' });
  const managersReport = await reportPage(mgr, server.base, 'Manager books');
  const { page: emp } = await signIn(browser, server.base, 'employee');
  for (const path of ['/team', '/payments', '/policy', '/organisation', '/admin/users', '/admin/audit', '/admin/audit/verify']) {
    const response = await emp.goto(`${server.base}${path}`);
    assert.equal(response.status(), 403, path);
    assert.match(await emp.locator('h1').textContent(), /403/);
  }
  await shot(emp, 'forbidden');
  const notMine = await emp.goto(managersReport);
  assert.equal(notMine.status(), 404);
  assert.match(await emp.locator('p.error').textContent(), /not yours to see/);
  const form = { date: new Date().toISOString().slice(0, 10), merchant: 'Forged', category: 'office', amount: '1.00', currency: 'USD' };
  const noToken = await emp.request.post(`${server.base}/expenses`, { form });
  assert.equal(noToken.status(), 403);
  const badToken = await emp.request.post(`${server.base}/expenses`, { form: { ...form, csrf: 'f'.repeat(64) } });
  assert.equal(badToken.status(), 403);
  await emp.goto(`${server.base}/expenses`);
  assert.equal(await emp.locator('text=Forged').count(), 0, 'nothing was created');
  const signedOut = await (await browser.newContext()).newPage();
  await signedOut.goto(`${server.base}/reports`);
  assert.match(signedOut.url(), /\/login\?next=\/reports$/);
  await shot(signedOut, 'login');
});

test('pages are accessible, light, secure and fit a phone', async () => {
  const { page } = await signIn(browser, server.base, 'employee', { width: 390, height: 844 });
  const response = await page.goto(`${server.base}/expenses`);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /script-src 'self'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.ok(headers['referrer-policy']);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((el) => !el.closest('label') && !el.getAttribute('aria-label') && !document.querySelector(`label[for="${el.id}"]`)).length);
  assert.equal(unlabeled, 0, 'every field has a label');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px too wide)`);
  const bytes = await page.evaluate(() => performance.getEntriesByType('resource').reduce((n, r) => n + r.decodedBodySize, 0)
    + performance.getEntriesByType('navigation')[0].decodedBodySize);
  assert.ok(bytes < 200 * 1024, `the page and its assets weigh ${bytes} bytes`);
  await shot(page, 'phone-expenses');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content', 'keyboard users can skip the menu');
});
