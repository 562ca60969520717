#!/usr/bin/env python3
"""Checks Outlay's bank files with tools that are not Outlay's own.

For each `*.xml` in the directory: validates it against the official ISO 20022
pain.001.001.09 schema that the `sepaxml` package ships, with `xmlschema`, and checks that
the group header's NbOfTxs and CtrlSum are the transactions' count and sum.

For each `*.ach`: parses it with carta-ach's parser and checks what the NACHA rules require:
94-character records, a multiple of ten of them, the batch and file control's entry counts,
entry hashes (the RDFI routing numbers' first eight digits, summed, last ten digits) and
credit totals.

For each journal file, read with Python's own csv module: `*.xero.csv` (Xero's manual
journal import: each journal, by narration and date, sums to zero), `*.qbo.csv` (QuickBooks
Online's journal import: each journal number's debits equal its credits), `*.plain.csv` (each
reference's debits equal its credits) and `*.datev.csv` (DATEV's Buchungsstapel: strict
Windows-1252, CRLF, the EXTF header of 31 fields, 125 columns a booking, amounts with a
decimal comma, S or H, numeric accounts, document dates within the header's period).

Each file may have `<name>.expect.json` beside it, `{"count": N, "total_minor": M}` (for a
journal, N entries whose debits total M), which the totals must equal. Prints one line per
file; exits 1 if any file fails.
"""
import csv
import io
import re
from collections import defaultdict
from datetime import datetime
import json
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path

import xmlschema
from ach.parser import Parser

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def expected(path):
    side = path.with_name(path.name + ".expect.json")
    return json.loads(side.read_text()) if side.exists() else None


def check_sepa(path, schema):
    errors = [str(e.reason) for e in schema.iter_errors(str(path))]
    if errors:
        return "schema: " + "; ".join(errors[:3])
    import xml.etree.ElementTree as ET
    root = ET.parse(path).getroot()
    amounts = [Decimal(a.text) for a in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)]
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    count = int(header.find("p:NbOfTxs", NS).text)
    total = Decimal(header.find("p:CtrlSum", NS).text)
    if count != len(amounts) or total != sum(amounts):
        return f"header says {count} for {total}, transactions are {len(amounts)} for {sum(amounts)}"
    want = expected(path)
    if want and (want["count"], Decimal(want["total_minor"]) / 100) != (count, total):
        return f"expected {want}, file has {count} for {total}"
    return None


def check_nacha(path):
    text = path.read_text(encoding="ascii")
    lines = text.rstrip("\n").split("\n")
    if any(len(line) != 94 for line in lines):
        return "a record is not 94 characters"
    if len(lines) % 10:
        return f"{len(lines)} records are not whole blocks of ten"
    data = Parser(text).as_dict()
    entries = [e["entry_detail"] for b in data["batches"] for e in b["entries"]]
    hash_ = sum(int(e["recv_dfi_id"]) for e in entries) % 10**10
    credit = sum(int(e["amount"]) for e in entries)
    for b in data["batches"]:
        control = b["batch_control"]
        mine = [e["entry_detail"] for e in b["entries"]]
        if int(control["entadd_count"]) != len(mine):
            return "the batch control's entry count is wrong"
        if int(control["entry_hash"]) != sum(int(e["recv_dfi_id"]) for e in mine) % 10**10:
            return "the batch control's entry hash is wrong"
        if int(control["credit_amount"]) != sum(int(e["amount"]) for e in mine):
            return "the batch control's credit total is wrong"
    control = data["file_control"]
    if int(control["batch_count"]) != len(data["batches"]):
        return "the file control's batch count is wrong"
    if int(control["entadd_count"]) != len(entries):
        return "the file control's entry count is wrong"
    if int(control["entry_hash"]) != hash_:
        return "the file control's entry hash is wrong"
    if int(control["credit_amount"]) != credit:
        return "the file control's credit total is wrong"
    if int(control["block_count"]) != len(lines) // 10:
        return "the file control's block count is wrong"
    want = expected(path)
    if want and (want["count"], want["total_minor"]) != (len(entries), credit):
        return f"expected {want}, file has {len(entries)} for {credit}"
    return None


def cents(text):
    return int(Decimal(text.replace(",", ".")) * 100)


def journal_totals(path, groups, debits):
    if any(v != 0 for v in groups.values()):
        bad = [k for k, v in groups.items() if v != 0]
        return f"{len(bad)} journal(s) do not balance, such as {bad[0]}"
    want = expected(path)
    if want and (want["count"], want["total_minor"]) != (len(groups), debits):
        return f"expected {want}, file has {len(groups)} journals of {debits}"
    return None


def check_xero(path):
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    groups, debits = defaultdict(int), 0
    for r in rows:
        datetime.strptime(r["*Date"], "%d/%m/%Y")
        if not r["*AccountCode"] or not r["*TaxRate"]:
            return "a line without an account code or tax rate"
        amount = cents(r["*Amount"])
        groups[(r["*Narration"], r["*Date"])] += amount
        debits += max(amount, 0)
    return journal_totals(path, groups, debits)


def check_qbo(path):
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    groups, debits, dates = defaultdict(int), 0, defaultdict(set)
    for r in rows:
        datetime.strptime(r["Journal Date"], "%m/%d/%Y")
        dates[r["Journal No"]].add(r["Journal Date"])
        if not r["Account Name"]:
            return "a line without an account name"
        debit = cents(r["Debits"]) if r["Debits"] else 0
        credit = cents(r["Credits"]) if r["Credits"] else 0
        if bool(debit) == bool(credit):
            return "a line is not either a debit or a credit"
        groups[r["Journal No"]] += debit - credit
        debits += debit
    if any(len(d) != 1 for d in dates.values()):
        return "a journal number has several dates"
    return journal_totals(path, groups, debits)


def check_plain(path):
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    groups, debits = defaultdict(int), 0
    for r in rows:
        datetime.strptime(r["date"], "%Y-%m-%d")
        groups[r["reference"]] += cents(r["debit"]) - cents(r["credit"])
        debits += cents(r["debit"])
    return journal_totals(path, groups, debits)


def check_datev(path):
    try:
        text = path.read_bytes().decode("cp1252")
    except UnicodeDecodeError as e:
        return f"not Windows-1252: {e}"
    if not text.endswith("\r\n") or "\n" in text.replace("\r\n", ""):
        return "lines do not end in CRLF"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    header, columns, bookings = rows[0], rows[1], rows[2:]
    if len(header) != 31 or header[:5] != ["EXTF", "700", "21", "Buchungsstapel", "13"]:
        return f"not an EXTF Buchungsstapel header of 31 fields: {header[:5]} ({len(header)})"
    if not (re.fullmatch(r"\d{4,7}", header[10]) and re.fullmatch(r"\d{1,5}", header[11])):
        return "no consultant and client numbers"
    start, end = (datetime.strptime(header[i], "%Y%m%d") for i in (14, 15))
    if len(columns) != 125 or columns[0] != "Umsatz (ohne Soll/Haben-Kz)":
        return f"not the 125 columns of a booking ({len(columns)})"
    length = int(header[13])
    groups, debits = defaultdict(int), 0
    for b in bookings:
        if len(b) != 125:
            return f"a booking of {len(b)} fields"
        if not re.fullmatch(r"\d{1,10},\d{2}", b[0]) or b[1] not in ("S", "H"):
            return f"not an amount and S or H: {b[0]!r} {b[1]!r}"
        if not all(re.fullmatch(r"\d+", a) and length <= len(a) <= length + 1 for a in b[6:8]):
            return f"accounts not of {length} digits: {b[6]!r} {b[7]!r}"
        if not re.fullmatch(r"\d{4}", b[9]):
            return f"a document date {b[9]!r} is not DDMM"
        days = []
        for year in {start.year, end.year}:
            try:
                days.append(datetime(year, int(b[9][2:]), int(b[9][:2])))
            except ValueError:
                pass
        if not any(start <= d <= end for d in days):
            return f"a document date {b[9]} outside the period"
        if not b[10] or len(b[10]) > 36 or len(b[13]) > 60:
            return "Belegfeld 1 missing or too long, or Buchungstext too long"
        # Each booking is its own debit and credit: a reference's bookings balance.
        groups[b[10]] += 0
        debits += cents(b[0])
    return journal_totals(path, groups, debits)


JOURNALS = {
    ".xero.csv": check_xero,
    ".qbo.csv": check_qbo,
    ".plain.csv": check_plain,
    ".datev.csv": check_datev,
}


def check_file(f, schema):
    if f.suffix == ".xml":
        return check_sepa(f, schema)
    if f.suffix == ".ach":
        return check_nacha(f)
    for ending, check in JOURNALS.items():
        if f.name.endswith(ending):
            try:
                return check(f)
            except (KeyError, ValueError, IndexError) as e:
                return f"unreadable: {e!r}"
    return "an unknown kind of file"


def main(directory):
    xsd = resources.files("sepaxml") / "schemas" / "pain.001.001.09.xsd"
    with resources.as_file(xsd) as path:
        schema = xmlschema.XMLSchema(str(path))
    failed = 0
    files = [
        f
        for pattern in ("*.xml", "*.ach", "*.csv")
        for f in sorted(Path(directory).glob(pattern))
    ]
    for f in files:
        problem = check_file(f, schema)
        print(f"{'FAIL' if problem else 'ok'} {f.name}{': ' + problem if problem else ''}")
        failed += bool(problem)
    if not files:
        print("no files")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
