// Money out, paying: an employee's bank details, and a payment batch built by the payer,
// downloaded as a NACHA file (the same file every time) and marked paid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startOutlay, startBrowser, signIn, shot, addExpense, reportPage, reportState, axeViolations } from './harness.mjs';

let server;
let browser;

before(async () => { server = await startOutlay(); browser = await startBrowser(); });
after(async () => { await browser?.close(); server?.child.kill(); });

test('bank details are checked, then a batch pays the report by NACHA file', async () => {
  // Eve adds her bank details; a mistyped IBAN is refused with the reason.
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await emp.goto(`${server.base}/settings`);
  const bank = emp.locator('#bank');
  await bank.locator('input[name=holder]').fill('Eve Employee');
  await bank.locator('input[name=iban]').fill('DE89 3704 0044 0532 0130 01');
  await Promise.all([emp.waitForURL(/\/settings$/), bank.locator('button[type=submit]').click()]);
  assert.match(await emp.locator('.error').first().textContent(), /not a valid IBAN/);
  await bank.locator('input[name=holder]').fill('Eve Employee');
  await bank.locator('input[name=routing_number]').fill('021000021');
  await bank.locator('input[name=account_number]').fill('123456789');
  await Promise.all([emp.waitForURL(/\/settings$/), bank.locator('button[type=submit]').click()]);
  assert.match(await bank.textContent(), /Eve Employee, ACH \*\*\*\* 6789/);
  assert.deepEqual(await axeViolations(emp), [], 'the settings page with bank details');

  // A report of hers is approved by Mia and Fay.
  await addExpense(emp, server.base, { merchant: 'Client dinner', category: 'meals', amount: '48.00' });
  const reportUrl = await reportPage(emp, server.base, 'Batch me');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  for (const who of ['manager', 'finance']) {
    const { page } = await signIn(browser, server.base, who);
    await page.goto(reportUrl);
    await Promise.all([page.waitForURL(reportUrl), page.click('button:text("Approve")')]);
  }

  // Pat builds a batch of it from the payments list.
  const { page: pay } = await signIn(browser, server.base, 'payer');
  await pay.goto(`${server.base}/payments`);
  await pay.locator('tr', { hasText: 'Batch me' }).locator('input[name=ids]').check();
  await Promise.all([pay.waitForURL(/\/payments\/batches\/[0-9a-f-]{36}$/), pay.click('text=Build a payment batch')]);
  const batchUrl = pay.url();
  assert.match(await pay.locator('p.ok').textContent(), /Batch built: 1 report\(s\), 48\.00 USD/);
  assert.match(await pay.locator('table').textContent(), /Eve Employee, ACH \*\*\*\* 6789/);
  assert.deepEqual(await axeViolations(pay), [], 'the batch page');
  await shot(pay, 'payment-batch');

  // The NACHA file downloads; the second download is the same file.
  const nacha = async () => {
    const [download] = await Promise.all([pay.waitForEvent('download'), pay.click('button:has-text("Download NACHA")')]);
    assert.match(download.suggestedFilename(), /^batch-[0-9a-f]{32}\.ach$/);
    return readFile(await download.path(), 'ascii');
  };
  const first = await nacha();
  const lines = first.trimEnd().split('\n');
  assert.ok(lines.every((l) => l.length === 94), first);
  assert.equal(lines.length % 10, 0);
  assert.match(first, /EVE EMPLOYEE/);
  await pay.goto(batchUrl);
  assert.match(await pay.locator('.summary').textContent(), /exported/);
  assert.equal(await nacha(), first);
  // SEPA pays euros: the page says why there is no SEPA file.
  await pay.goto(batchUrl);
  await Promise.all([pay.waitForURL(batchUrl), pay.click('button:has-text("Download SEPA")')]);
  assert.match(await pay.locator('.error').first().textContent(), /a SEPA file pays euros/);

  // The bank paid it: the batch is settled and Eve's report is paid with the bank's reference.
  await pay.fill('input[name=text] >> nth=0', 'ACH-2026-12-05');
  await Promise.all([pay.waitForURL(batchUrl), pay.click('text=Mark the batch paid')]);
  assert.match(await pay.locator('.summary').textContent(), /paid/);
  await emp.goto(reportUrl);
  assert.equal(await reportState(emp), 'paid');
  assert.match(await emp.locator('body').textContent(), /ACH-2026-12-05/);

  // The journal of this month has the report's accrual and payment; debits equal credits.
  await pay.goto(`${server.base}/journal`);
  const journal = pay.locator('#journal');
  assert.match(await journal.textContent(), /Expenses approved: Batch me/);
  assert.match(await journal.textContent(), /Expenses paid: Batch me \(ACH-2026-12-05\)/);
  assert.equal(await pay.locator('#journal-debits').textContent(), await pay.locator('#journal-credits').textContent());
  assert.deepEqual(await axeViolations(pay), [], 'the journal page');
  // Xero's file: every journal (by narration) sums to zero.
  const download = async (name) => {
    const [d] = await Promise.all([pay.waitForEvent('download'), pay.click(`a:text("${name}")`)]);
    return { name: d.suggestedFilename(), bytes: await readFile(await d.path()) };
  };
  const xero = (await download('Xero')).bytes.toString('utf8');
  const sums = new Map();
  for (const line of xero.trim().split('\n').slice(1)) {
    const cells = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g).map((c) => c.replace(/,$/, ''));
    sums.set(cells[0], (sums.get(cells[0]) ?? 0) + Math.round(Number(cells[5]) * 100));
  }
  assert.ok(sums.size >= 2, xero);
  assert.ok([...sums.values()].every((v) => v === 0), xero);
  // DATEV needs the adviser's numbers; finance saves them with a category's own account.
  await Promise.all([pay.waitForURL(/\/journal/), pay.click('a:text("DATEV")')]);
  assert.match(await pay.locator('.error').first().textContent(), /consultant and client numbers are not set/);
  await pay.goto(`${server.base}/journal`);
  await pay.fill('input[name=datev_consultant]', '1001');
  await pay.fill('input[name=datev_client]', '1');
  await pay.fill('input[aria-label="meals code"]', '4650');
  await pay.fill('input[aria-label="meals name"]', 'Bewirtung');
  await Promise.all([pay.waitForURL(/\/journal$/), pay.click('text=Save the ledger accounts')]);
  assert.match(await pay.locator('p.ok').textContent(), /ledger accounts are saved/);
  assert.match(await pay.locator('#journal').textContent(), /4650 Bewirtung/);
  const datev = await download('DATEV');
  assert.match(datev.name, /^EXTF_Buchungsstapel_\d{8}_\d{8}\.csv$/);
  const rows = datev.bytes.toString('latin1').split('\r\n');
  assert.match(rows[0], /^"EXTF";700;21;"Buchungsstapel";13;/);
  assert.ok(rows.slice(2).some((r) => /;4650;1740;/.test(r)), rows.join('\n'));
  await shot(pay, 'journal');
});

test('a bank statement marks the matching report paid and lists what does not match', async () => {
  // Eve's report, approved, in a batch Pat exports.
  const { page: emp } = await signIn(browser, server.base, 'employee');
  await addExpense(emp, server.base, { merchant: 'Airport shuttle', category: 'travel', amount: '31.00' });
  const reportUrl = await reportPage(emp, server.base, 'Statement me');
  await Promise.all([emp.waitForURL(reportUrl), emp.click('text=Submit for approval')]);
  for (const who of ['manager', 'finance']) {
    const { page } = await signIn(browser, server.base, who);
    await page.goto(reportUrl);
    await Promise.all([page.waitForURL(reportUrl), page.click('button:text("Approve")')]);
  }
  const { page: pay } = await signIn(browser, server.base, 'payer');
  await pay.goto(`${server.base}/payments`);
  await pay.locator('tr', { hasText: 'Statement me' }).locator('input[name=ids]').check();
  await Promise.all([pay.waitForURL(/\/payments\/batches\//), pay.click('text=Build a payment batch')]);
  await Promise.all([pay.waitForEvent('download'), pay.click('button:has-text("Download CSV")')]);
  const reference = (await pay.locator('td[data-label=Reference] code').first().textContent()).trim();

  // The bank's statement: this payment, and one nobody made.
  const entry = (e2e, amount, ref) => `<Ntry><Amt Ccy="USD">${amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-12-05</Dt></BookgDt><AcctSvcrRef>${ref}</AcctSvcrRef><BkTxCd/>
    <NtryDtls><TxDtls><Refs><EndToEndId>${e2e}</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>`;
  const camt = `<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
    <BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-12-05T18:00:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id>
    <Acct><Id><Othr><Id>1</Id></Othr></Id></Acct>${entry(reference, '31.00', 'BANK-77')}${entry('OL9999999999999', '5.00', 'BANK-78')}</Stmt></BkToCstmrStmt></Document>`;
  await pay.goto(`${server.base}/payments`);
  await pay.setInputFiles('input[name=file]', { name: 'statement.xml', mimeType: 'application/xml', buffer: Buffer.from(camt) });
  await Promise.all([pay.waitForURL(/\/payments\/statements$/), pay.click('text=Import and match')]);
  assert.match(await pay.locator('p.summary').textContent(), /1 matched and paid · 1 to look at/);
  assert.match(await pay.locator('section', { hasText: 'Paid from this statement' }).textContent(), /paid[\s\S]*31\.00 USD[\s\S]*BANK-77/);
  assert.match(await pay.locator('section', { hasText: 'For finance to look at' }).textContent(), /unknown reference/);
  assert.deepEqual(await axeViolations(pay), [], 'the statement results');
  await shot(pay, 'bank-statement');
  await emp.goto(reportUrl);
  assert.equal(await reportState(emp), 'paid');
});
