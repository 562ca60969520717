// Approvals that fit a real company: the route explained on a draft, one line rejected, out of
// office, cost centres and routing rules, and escalation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startOutlay, startBrowser, signIn, shot, addExpense, reportPage, reportState, axeViolations, root } from './harness.mjs';

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
  assert.match(await mgr.locator('[role=status]').first().textContent(), /Out of office ended/);

  // An admin sets it for her instead (audited; never naming themselves).
  const { page: adm } = await signIn(browser, server.base, 'admin');
  await adm.goto(`${server.base}/admin/users`);
  await Promise.all([adm.waitForURL(/\/admin\/users\/[0-9a-f-]{36}$/), adm.click('a:text("Mia Manager")')]);
  const away = adm.locator('#away');
  assert.equal(await away.locator('option', { hasText: 'Ada Admin' }).count(), 0, 'not the admin');
  await away.locator('select[name=delegate_id]').selectOption({ label: 'Sam Senior' });
  assert.deepEqual(await axeViolations(adm), [], 'the admin user page with out of office');
  await Promise.all([adm.waitForURL(/\/admin\/users\/[0-9a-f-]{36}$/), away.locator('button', { hasText: 'Set out of office' }).click()]);
  assert.match(await adm.locator('#away p.ok').textContent(), /Sam Senior decides the reports waiting for Mia Manager/);
  await Promise.all([adm.waitForURL(/\/admin\/users\/[0-9a-f-]{36}$/), adm.locator('#away button', { hasText: 'End it now' }).click()]);
  assert.equal(await adm.locator('#away p.ok').count(), 0, 'ended');
});

test('finance keeps cost centres and rules; a split expense routes to the other cost centre\'s owner', async () => {
  // Finance adds a cost centre and a rule in the editor.
  const { page: fin } = await signIn(browser, server.base, 'finance');
  await fin.goto(`${server.base}/organisation`);
  const centre = fin.locator('#cost-centres form');
  await centre.locator('input[name=code]').fill('OPS');
  await centre.locator('input[name=name]').fill('Operations');
  await centre.locator('select[name=owner_id]').selectOption({ label: 'Sam Senior' });
  await Promise.all([fin.waitForURL(/\/organisation$/), centre.locator('button').click()]);
  assert.match(await fin.locator('#cost-centres tbody').textContent(), /OPS\s*Operations\s*Sam Senior/);
  const fresh = fin.locator('fieldset.rule').last();
  await fresh.locator('input[name=rule_name]').fill('Big software');
  await fresh.locator('select[name=rule_category]').selectOption('software');
  await fresh.locator('input[name=rule_over]').fill('500.00');
  await fresh.locator('select[name=rule_approver]').selectOption({ label: 'Pat Payer' });
  assert.deepEqual(await axeViolations(fin), [], 'the organisation page');
  await shot(fin, 'organisation');
  await Promise.all([fin.waitForURL(/\/organisation$/), fin.click('text=Save rules')]);
  assert.match(await fin.locator('[role=status]').first().textContent(), /2 routing rule\(s\) saved/);
  assert.equal(await fin.locator('fieldset.rule').count(), 3, 'two rules and a new one');

  // The employee splits an expense between engineering (home) and marketing.
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await emp.goto(`${server.base}/expenses`);
  await emp.fill('input[name=date]', new Date().toISOString().slice(0, 10));
  await emp.fill('input[name=merchant]', 'Conference stand');
  await emp.selectOption('select[name=category]', 'other');
  await emp.fill('input[name=amount]', '60.00');
  await emp.locator('select[name=cc]').nth(0).selectOption('ENG');
  await emp.locator('input[name=cc_share]').nth(0).fill('50%');
  await emp.locator('select[name=cc]').nth(1).selectOption('MKT');
  await emp.locator('input[name=cc_share]').nth(1).fill('50%');
  await emp.selectOption('select[name=project]', 'APOLLO');
  assert.deepEqual(await axeViolations(emp), [], 'the expense form with a split');
  await Promise.all([emp.waitForURL(/\/expenses\/[0-9a-f-]{36}$/), emp.click('text=Add expense')]);
  assert.equal(await emp.locator('input[name=cc_share]').nth(1).inputValue(), '30.00', 'saved as amounts');
  const reportUrl = await reportPage(emp, server.base, 'Trade fair');
  const route = await emp.locator('ol.steps li').allTextContents();
  assert.equal(route.length, 3, route.join(' | '));
  assert.match(route[1], /Sam Senior[\s\S]*lines charged to cost centre MKT, outside the submitter's home cost centre ENG, owned by Sam Senior/);
  await shot(emp, 'route-with-rule');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  assert.equal(await reportState(emp), 'pending manager');
});

test('a step that waits too long is escalated: the senior finds it in his queue and decides it', async () => {
  // Finance turns reminders on, counting every day of the week.
  const { page: fin } = await signIn(browser, server.base, 'finance');
  await fin.goto(`${server.base}/policy`);
  await fin.fill('input[name=remind_after_days]', '1');
  await fin.fill('input[name=escalate_after_days]', '2');
  for (const day of ['Sat', 'Sun']) await fin.check(`input[name=working_days][value=${day}]`);
  assert.deepEqual(await axeViolations(fin), [], 'the policy page with reminders');
  await Promise.all([fin.waitForURL(/\/policy$/), fin.click('text=Save policy')]);
  assert.equal(await fin.locator('input[name=escalate_after_days]').inputValue(), '2');
  await fin.goto(`${server.base}/organisation`);
  assert.match(await fin.locator('#cost-centres tbody').textContent(), /ENG\s*Engineering/, 'saving the policy keeps the cost centres');

  // A report waits for Mia Manager.
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await addExpense(emp, server.base, { merchant: 'Parking', category: 'travel', amount: '12.00' });
  const reportUrl = await reportPage(emp, server.base, 'Site visit');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);

  // Five days later the sweep escalates it to Sam Senior (the same command the dispatcher runs).
  const bin = process.env.OUTLAY_BIN || join(root, 'target', 'debug', 'outlay');
  const out = execFileSync('faketime', ['-f', '+5d', bin, 'admin', 'sweep', '--data-dir', server.data], {
    env: { ...process.env, OUTLAY_LOG: 'warn' },
  });
  assert.ok(JSON.parse(out.toString()).steps_escalated >= 1, out.toString());

  const { page: sen } = await signIn(browser, server.base, 'senior');
  await sen.goto(`${server.base}/approvals`);
  const row = sen.locator('tr', { hasText: 'Site visit' });
  assert.match(await row.textContent(), /escalated from Mia Manager/);
  assert.deepEqual(await axeViolations(sen), [], 'the escalated queue');
  await shot(sen, 'approvals-escalated');
  await Promise.all([sen.waitForURL(reportUrl), row.locator('a', { hasText: 'Site visit' }).click()]);
  assert.match(await sen.locator('ol.steps li').first().textContent(), /Mia Manager\s+escalated to Sam Senior/);
  await Promise.all([sen.waitForURL(reportUrl), sen.click('button:text("Approve")')]);
  assert.equal(await reportState(sen), 'pending finance');
});

test('finance previews a policy change on recent expenses and open reports before saving it', async () => {
  const { page: fin } = await signIn(browser, server.base, 'finance');
  await fin.goto(`${server.base}/policy`);
  await fin.fill('input[name=receipt_required_from]', '10.00');
  await fin.fill('input[name=senior_threshold]', '30.00');
  await Promise.all([fin.waitForURL(/\/policy\/preview$/), fin.click('text=Preview the changes')]);
  const preview = fin.locator('#preview');
  assert.match(await preview.textContent(), /Nothing has been saved/);
  assert.match(await preview.locator('table', { hasText: 'Expenses whose policy issues would change' }).textContent(), /receipt required/);
  assert.match(await preview.locator('table', { hasText: 'Reports whose route would change' }).textContent(), /senior \(Sam Senior\)/);
  assert.equal(await fin.locator('input[name=senior_threshold]').inputValue(), '30.00', 'the form keeps the proposal');
  assert.deepEqual(await axeViolations(fin), [], 'the policy preview');
  await shot(fin, 'policy-preview');
  await fin.goto(`${server.base}/policy`);
  assert.equal(await fin.locator('input[name=senior_threshold]').inputValue(), '1000.00', 'nothing was saved');
});
