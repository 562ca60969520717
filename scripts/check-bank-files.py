#!/usr/bin/env python3
"""Checks Outlay's bank files with tools that are not Outlay's own.

For each `*.xml` in the directory: validates it against the official ISO 20022
pain.001.001.09 schema that the `sepaxml` package ships, with `xmlschema`, and checks that
the group header's NbOfTxs and CtrlSum are the transactions' count and sum.

For each `*.ach`: parses it with carta-ach's parser and checks what the NACHA rules require:
94-character records, a multiple of ten of them, the batch and file control's entry counts,
entry hashes (the RDFI routing numbers' first eight digits, summed, last ten digits) and
credit totals.

Each file may have `<name>.expect.json` beside it, `{"count": N, "total_minor": M}`, which the
totals must equal. Prints one line per file; exits 1 if any file fails.
"""
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


def main(directory):
    xsd = resources.files("sepaxml") / "schemas" / "pain.001.001.09.xsd"
    with resources.as_file(xsd) as path:
        schema = xmlschema.XMLSchema(str(path))
    failed = 0
    files = sorted(Path(directory).glob("*.xml")) + sorted(Path(directory).glob("*.ach"))
    for f in files:
        problem = check_sepa(f, schema) if f.suffix == ".xml" else check_nacha(f)
        print(f"{'FAIL' if problem else 'ok'} {f.name}{': ' + problem if problem else ''}")
        failed += bool(problem)
    if not files:
        print("no files")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
