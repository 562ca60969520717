// The web UI at a company's volume (`outlay demo --seed-volume`: 2,000 expenses, 300 reports):
// searching and paging, changing a draft, approving and paying in bulk, phones, and axe-core on
// every page of every role at desktop and phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOutlay, startBrowser, signIn, shot, axeViolations } from './harness.mjs';

let server;
let browser;
const PHONE = { width: 375, height: 812 };

before(async () => {
  server = await startOutlay({ seedVolume: true });
  browser = await startBrowser();
});
after(async () => { await browser?.close(); server?.child.kill(); });

// The cells of one column of the page's first table, as text.
async function column(page, label) {
  return page.locator(`table td[data-label="${label}"]`).allTextContents();
}

test('expenses are searched, filtered, sorted and paged, and the search is a link', async () => {
  const { page } = await signIn(browser, server.base, 'staff000');
  await page.goto(`${server.base}/expenses`);
  assert.equal(await page.locator('table tbody tr').count(), 50, 'a page holds 50 expenses');
  await page.fill('input[name=q]', 'hilton');
  await Promise.all([page.waitForURL(/q=hilton/), page.click('button:text("Search")')]);
  const merchants = await column(page, 'Merchant');
  assert.ok(merchants.length > 0, 'the search finds something');
  assert.ok(merchants.every((m) => /hilton/i.test(m)), merchants.join(', '));

  await page.goto(`${server.base}/expenses?sort=-amount&category=meals`);
  const amounts = (await column(page, 'Amount')).map((a) => Number(a.split(' ')[0]));
  assert.deepEqual(amounts, [...amounts].sort((a, b) => b - a), 'largest first');
  assert.ok((await column(page, 'Category')).every((c) => c === 'meals'));

  // Pages follow one another without repeats.
  await page.goto(`${server.base}/expenses`);
  const first = await column(page, 'Merchant');
  await Promise.all([page.waitForURL(/cursor=/), page.click('a[rel=next]')]);
  assert.ok((await page.locator('table tbody tr').count()) > 0);
  assert.ok(await page.locator('text=First page').isVisible());
  assert.notDeepEqual(await column(page, 'Merchant'), first);

  // A refused search says why, with 400.
  const bad = await page.goto(`${server.base}/expenses?min_amount=lots`);
  assert.equal(bad.status(), 400);
  assert.match(await page.locator('p.error').first().textContent(), /min_amount/);
});

test('finance browses every submitted report and exports exactly what it found', async () => {
  const { page } = await signIn(browser, server.base, 'finance');
  await page.goto(`${server.base}/reports?scope=all`);
  await page.selectOption('select[name=state]', 'paid');
  await page.selectOption('select[name=owner_id]', { label: 'Ana Novak' });
  await Promise.all([page.waitForURL(/state=paid/), page.click('button:text("Search")')]);
  const employees = await column(page, 'Employee');
  assert.ok(employees.length > 0 && employees.every((e) => e === 'Ana Novak'), employees.join(', '));
  assert.ok((await page.locator('td[data-label="State"]').allTextContents()).every((s) => s.trim() === 'paid'));
  const href = await page.getAttribute('a:text("Export these reports (CSV)")', 'href');
  assert.match(href, /state=paid/);
  const csv = await (await page.request.get(new URL(href, server.base).href)).text();
  const rows = csv.trim().split('\n').slice(1);
  assert.equal(rows.length, employees.length, 'one row per report found');
  assert.ok(rows.every((r) => r.includes(',Ana Novak,') && r.includes(',paid,')));
  await shot(page, 'finance-browser');
});

test('an employee renames a draft, takes an expense out, and deletes it, freeing its expenses', async () => {
  const { page } = await signIn(browser, server.base, 'staff000');
  await page.goto(`${server.base}/reports?state=draft`);
  await Promise.all([page.waitForURL(/\/reports\/[0-9a-f-]{36}$/), page.locator('td[data-label="Report"] a').first().click()]);
  const reportUrl = page.url();
  await page.click('summary:text("Change this report")');
  await page.fill('details.edit input[name=title]', 'Renamed draft');
  const boxes = page.locator('details.edit input[name=expense_ids]:checked');
  const before = await boxes.count();
  assert.ok(before >= 2, `the draft holds ${before} expenses`);
  await boxes.first().uncheck();
  await Promise.all([page.waitForURL(reportUrl), page.click('button:text("Save changes")')]);
  assert.equal(await page.locator('h1').textContent(), 'Renamed draft');
  assert.equal(await page.locator('section td[data-label="Merchant"], section table tbody tr').count() > 0, true);
  assert.match(await page.locator('ol.timeline').textContent(), /update/);

  // A stale form (the version changed meanwhile) is refused, and the page says so after a redirect.
  await page.click('summary:text("Change this report")');
  await page.evaluate(() => { document.querySelector('details.edit input[name=version]').value = '1'; });
  await Promise.all([page.waitForURL(reportUrl), page.click('button:text("Save changes")')]);
  assert.match(await page.locator('p.error').textContent(), /stale/);
  await page.reload();
  assert.equal(await page.locator('p.error').count(), 0, 'a reload shows the page again, not the failed post');

  page.once('dialog', (d) => d.accept());
  await page.click('summary:text("Change this report")');
  await Promise.all([page.waitForURL(/\/reports$/), page.click('button:text("Delete report")')]);
  const missing = await page.goto(reportUrl);
  assert.equal(missing.status(), 404);
});

test('a failed form post comes back to its page with the values kept, and a reload posts nothing', async () => {
  const { page } = await signIn(browser, server.base, 'staff001');
  await page.goto(`${server.base}/expenses`);
  assert.equal(await page.locator('textarea[name=justification]').count(), 0, 'no justification until a rule needs one');
  const max = await page.getAttribute('input[name=date]', 'max');
  assert.equal(max, new Date().toISOString().slice(0, 10));
  const currencies = await page.locator('select[name=currency] option').allTextContents();
  assert.equal(currencies[0], 'USD');
  await page.fill('input[name=merchant]', 'Kept merchant');
  await page.fill('input[name=amount]', '0');
  let posts = 0;
  page.on('request', (r) => { if (r.method() === 'POST') posts += 1; });
  await Promise.all([page.waitForURL(/\/expenses$/), page.click('text=Add expense')]);
  assert.match(await page.locator('p.error').textContent(), /amount/i);
  assert.equal(await page.inputValue('input[name=merchant]'), 'Kept merchant');
  await page.reload();
  assert.equal(posts, 1, 'the reload did not post the form again');
});

test('the expense form says before saving when the currency has no rate for the date', async () => {
  const { page: fin } = await signIn(browser, server.base, 'finance');
  await fin.goto(`${server.base}/rates`);
  await fin.fill('input[name=currency]', 'EUR');
  await fin.fill('input[name=rate]', '1.0850');
  await Promise.all([fin.waitForURL(/\/rates$/), fin.click('text=Add rate')]);

  const { page } = await signIn(browser, server.base, 'staff003');
  await page.goto(`${server.base}/expenses`);
  const note = page.locator('.rate-note');
  await page.selectOption('select[name=currency]', 'EUR');
  assert.equal(await note.textContent(), '', 'today has a rate');
  const monthAgo = new Date(Date.now() - 30 * 86400000).toISOString().slice(0, 10);
  // The expense form's date (the mileage form has one of its own).
  const date = page.locator('form.expense-form input[name=date]');
  await date.fill(monthAgo);
  await date.dispatchEvent('change');
  assert.match(await note.textContent(), /no EUR exchange rate for/);
  await page.selectOption('select[name=currency]', 'USD');
  assert.equal(await note.textContent(), '', 'the base currency needs none');
});

test('an approver approves several reports at once and each outcome is reported; payments show the sum', async () => {
  const { page } = await signIn(browser, server.base, 'manager');
  await page.goto(`${server.base}/approvals`);
  const rows = page.locator('table tbody tr');
  assert.ok((await rows.count()) >= 2);
  await rows.nth(0).locator('input[name=ids]').check();
  await rows.nth(1).locator('input[name=ids]').check();
  await Promise.all([page.waitForURL(/\/approvals$/), page.click('button:text("Approve selected")')]);
  assert.match(await page.locator('p.ok').textContent(), /2 report\(s\) approved/);

  const { page: pay } = await signIn(browser, server.base, 'payer');
  await pay.goto(`${server.base}/payments`);
  const boxes = pay.locator('input[name=ids]:not([disabled])');
  assert.ok((await boxes.count()) >= 2);
  const totals = (await pay.locator('td[data-label="Total"]').allTextContents()).map((t) => t.trim());
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  // Whole cents, as the page sums them: no floating point near money.
  const cents = (t) => BigInt(t.split(' ')[0].replace('.', ''));
  const sum = cents(totals[0]) + cents(totals[1]);
  const shown = `${sum / 100n}.${(sum % 100n).toString().padStart(2, '0')}`;
  assert.match(await pay.locator('p.selection').textContent(), new RegExp(`2 selected, totalling ${shown} USD`));
});

test('a manager sees their team; finance drills into spend; the admin browses the audit trail', async () => {
  const { page } = await signIn(browser, server.base, 'manager');
  await page.goto(`${server.base}/team`);
  const names = await page.locator('td[data-label="Name"]').allTextContents();
  assert.ok(names.length >= 18, `Mia's people: ${names.length}`);
  const open = page.locator('section:has(h2:text("Open reports")) td[data-label="Report"] a');
  assert.ok((await open.count()) > 0, 'open reports are listed');
  const opened = await page.goto(new URL(await open.first().getAttribute('href'), server.base).href);
  assert.equal(opened.status(), 200, 'and each may be opened');

  const { page: fin } = await signIn(browser, server.base, 'finance');
  await fin.goto(`${server.base}/spend`);
  const total = await fin.locator('p.big strong').textContent();
  await Promise.all([fin.waitForURL(/category=travel/), fin.click('table.bars a:text("travel")')]);
  assert.notEqual(await fin.locator('p.big strong').textContent(), total, 'narrowed to travel');
  const month = fin.locator('table.bars').nth(1).locator('a').first();
  await Promise.all([fin.waitForURL(/from=.*&to=|to=.*&from=/), month.click()]);
  assert.ok((await fin.locator('section:has(h2:text("The reports behind")) tbody tr').count()) > 0);
  await shot(fin, 'spend-drill');

  const { page: adm } = await signIn(browser, server.base, 'admin');
  await adm.goto(`${server.base}/admin/audit?action=report.pay`);
  const events = adm.locator('ol.events > li');
  assert.equal(await events.count(), 50, 'a page of 50 payments');
  await events.first().locator('summary').click();
  assert.match(await events.first().locator('.diff').textContent(), /"paid"/);
  await Promise.all([adm.waitForURL(/before=/), adm.click('a:text("Older events")')]);
  assert.ok((await events.count()) > 0);
});

test('each user reads times in their own time zone, or the company\'s', async () => {
  const { page } = await signIn(browser, server.base, 'staff002');
  await page.goto(`${server.base}/reports?state=paid`);
  const utc = await page.locator('td[data-label="Submitted"]').first().textContent();
  assert.match(utc, / UTC$/, 'the company zone is UTC');
  await page.click('a.who');
  await page.selectOption('select[name=time_zone]', 'Asia/Tokyo');
  await Promise.all([page.waitForURL(/\/settings$/), page.click('button:text("Save")')]);
  assert.match(await page.locator('p.ok').textContent(), /saved/);
  await page.goto(`${server.base}/reports?state=paid`);
  const tokyo = await page.locator('td[data-label="Submitted"]').first().textContent();
  assert.match(tokyo, / JST$/, tokyo);
  const hours = (t) => Number(t.slice(11, 13));
  assert.equal((hours(utc) + 9) % 24, hours(tokyo), `${utc} in Tokyo is ${tokyo}`);
  await page.goto(`${server.base}/expenses`);
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date());
  assert.equal(await page.getAttribute('input[name=date]', 'max'), today, 'the date input stops at today in Tokyo');
});

test('on a phone, tables become cards and a report is decided after its expenses', async () => {
  const { page } = await signIn(browser, server.base, 'manager', PHONE);
  await page.goto(`${server.base}/approvals`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
  const display = await page.locator('table.cards tbody tr').first().evaluate((tr) => getComputedStyle(tr).display);
  assert.equal(display, 'block', 'rows are stacked cards');
  await Promise.all([page.waitForURL(/\/reports\/[0-9a-f-]{36}$/), page.locator('td[data-label="Report"] a').first().click()]);
  const expenses = await page.locator('h2:text("Expenses")').boundingBox();
  const approve = await page.locator('button:text("Approve")').boundingBox();
  assert.ok(approve.y > expenses.y, 'Approve comes after the expenses it judges');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(wide <= 0, `the report fits (${wide}px too wide)`);
  await shot(page, 'phone-report');
});

test('axe-core finds no violation on any page, for any role, at desktop and phone width', async () => {
  const login = await (await browser.newContext()).newPage();
  await login.goto(`${server.base}/login`);
  const found = [];
  for (const v of await axeViolations(login)) found.push(`login: ${v}`);
  const roles = {
    staff000: ['/expenses', '/reports', '/notifications', '/settings', 'expense', 'draft'],
    manager: ['/approvals', '/team', 'pending'],
    finance: ['/payments', '/spend', '/spend?category=travel', '/policy', '/rates', '/reports?scope=all', '/approvals'],
    admin: ['/admin/users', '/admin/audit', '/admin/audit/verify', '/settings', 'user'],
    payer: ['/payments', '/reports?scope=all&state=paid', 'paid'],
  };
  for (const [who, paths] of Object.entries(roles)) {
    for (const viewport of [{ width: 1280, height: 900 }, PHONE]) {
      const { page, context } = await signIn(browser, server.base, who, viewport);
      for (const path of paths) {
        let target = path;
        if (path === 'expense') {
          await page.goto(`${server.base}/expenses`);
          target = await page.getAttribute('td[data-label="Merchant"] a', 'href');
        } else if (path === 'draft' || path === 'pending' || path === 'paid') {
          const list = { draft: 'reports?state=draft', pending: 'approvals', paid: 'reports?scope=all&state=paid' }[path];
          await page.goto(`${server.base}/${list}`);
          target = await page.getAttribute('td[data-label="Report"] a', 'href');
        } else if (path === 'user') {
          await page.goto(`${server.base}/admin/users`);
          target = await page.getAttribute('table a', 'href');
        }
        const url = target.startsWith('http') ? target : `${server.base}${target}`;
        const response = await page.goto(url);
        assert.equal(response.status(), 200, url);
        if (path === 'draft') await page.click('summary:text("Change this report")');
        for (const v of await axeViolations(page)) found.push(`${who} ${path} at ${viewport.width}px: ${v}`);
      }
      await context.close();
    }
  }
  assert.deepEqual(found, [], found.join('\n'));
});
