#!/usr/bin/env python3
"""Work for schemathesis's stateful phase (scripts/schemathesis.sh): reports in every state a
role can act on, so that a decision, a payment, a submission or a withdrawal can succeed and
the links out of its answer can be followed.

On a fresh `outlay demo` server, through the API as a client would:
  - the role's own draft reports (to submit) and submitted ones (to withdraw);
  - the employee's reports waiting for the manager;
  - reports the manager approved, waiting for finance;
  - reports the manager and the payer approved, for finance to pay;
  - cash advances requested, approved and paid out.

Usage: schemathesis-seed.py BASE_URL PASSWORD ROLE [COUNT]
"""
import datetime
import json
import sys
import urllib.request

base, password, role = sys.argv[1], sys.argv[2], sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 12
today = datetime.date.today().isoformat()
serial = 0


def call(token, method, path, body=None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def login(who):
    return call("", "POST", "/api/v1/auth/token", {"email": f"{who}@example.com", "password": password})[
        "access_token"
    ]


def report(token, submit):
    """A report of one small, valid expense: under every limit, so nothing blocks it."""
    global serial
    serial += 1
    expense = call(
        token,
        "POST",
        "/api/v1/expenses",
        {
            "date": today,
            "merchant": f"Seed merchant {serial}",
            "category": "office",
            "amount": f"{10 + serial}.{serial % 100:02d}",
            "currency": "USD",
            "description": "Seeded for the stateful phase",
        },
    )
    made = call(token, "POST", "/api/v1/reports", {"title": f"Seeded report {serial}", "expense_ids": [expense["id"]]})
    if submit:
        call(token, "POST", f"/api/v1/reports/{made['id']}/submit", {})
    return made["id"]


own = login(role)
for _ in range(count):
    report(own, submit=False)
    report(own, submit=True)

employee, manager, payer = login("employee"), login("manager"), login("payer")
for i in range(3 * count):
    made = report(employee, submit=True)
    if i >= count:
        call(manager, "POST", f"/api/v1/reports/{made}/approve", {"comment": "Seeded"})
    if i >= 2 * count:
        call(payer, "POST", f"/api/v1/reports/{made}/approve", {"comment": "Seeded"})
# Cash advances in every state one can act on: the role's own requests (to cancel), Eve's
# waiting for Mia, approved ones for finance to pay out and paid-out ones to pay back. The
# newest is first in the list the links start from, so each kind is made in turn.
finance = login("finance")
for i in range(count):
    mine = call(own, "POST", "/api/v1/advances", {"amount": "25.00", "currency": "USD", "purpose": "Seeded"})
    asked = call(employee, "POST", "/api/v1/advances", {"amount": "40.00", "currency": "USD", "purpose": "Seeded"})
    if i % 3 >= 1:
        call(manager, "POST", f"/api/v1/advances/{asked['id']}/approve", {"note": "Seeded"})
    if i % 3 == 2:
        call(finance, "POST", f"/api/v1/advances/{asked['id']}/pay-out", {"reference": f"SEED-{i}"})
print(f"seeded for {role}: {2 * count} own reports, {count} each waiting for the manager, finance and payment, {2 * count} advances")
