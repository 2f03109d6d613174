#!/usr/bin/env python3
"""Bulk deals for the benchmark in a SQLite file that cosell migrated and seeded with its
demo directory: the same plan as bench/sql/seed_pg.sql (read its header), written the way
cosell writes SQLite rows: uuids as 16-byte blobs, timestamps as RFC 3339
text `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (UTC), phones in E.164, dates `YYYY-MM-DD`, booleans 0/1, JSON as text.

Usage: seed_sqlite.py DB N_IN N_OUT N_OTHER
"""
import datetime as dt
import json
import sqlite3
import sys
import time
import uuid

from uuid7 import uuid7  # bench/uuid7.py, beside this script

TOPICS = ["Cloud migration", "Data platform", "Security review", "Copilot rollout", "Field service"]
ORG_NAMES = ["Microsoft", "Contoso Consulting", "Fabrikam Solutions", "Northwind Traders",
             "Adventure Works Cloud"]


def epoch_ms(t):
    """Milliseconds since the epoch, for a UUIDv7."""
    return int(t.timestamp() * 1000)


def ts(t):
    """A timestamp as cosell (sqlx, DateTime<Utc>) writes it on SQLite: RFC 3339 in UTC,
    the fraction in 3, 6 or 9 digits as needed (chrono's AutoSi)."""
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    us = t.microsecond
    if us == 0:
        frac = ""
    elif us % 1000 == 0:
        frac = f".{us // 1000:03d}"
    else:
        frac = f".{us:06d}"
    return f"{base}{frac}+00:00"


def main():
    path, n_in, n_out, n_other = sys.argv[1], *map(int, sys.argv[2:5])
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA foreign_keys = ON")
    orgs = {}
    for k, name in enumerate(ORG_NAMES):
        oid, = db.execute("SELECT id FROM organizations WHERE name = ?", (name,)).fetchone()
        admin = db.execute(
            "SELECT id, name, email FROM users WHERE organization_id = ? AND roles LIKE "
            "'%REFERRAL_ADMIN%' ORDER BY email LIMIT 1", (oid,)).fetchone()
        sols = [r[0] for r in db.execute(
            "SELECT id FROM solutions WHERE publisher_id = ? AND co_sell_ready ORDER BY name_norm",
            (oid,))]
        orgs[k] = {"id": oid, "name": name, "admin": admin, "sols": sols}
    custs = [r[0] for r in db.execute("SELECT id FROM customers ORDER BY name_norm, id")]

    now = dt.datetime.now(dt.timezone.utc)
    today = now.date()
    eng_rows, opp_rows, inv_rows, team_rows, sol_rows = [], [], [], [], []
    total = n_in + n_out + n_other
    for g in range(1, total + 1):
        if g <= n_in:
            orig_k, inv_k = [0, 2, 3, 4][g % 4], 1
            orig_stage = "ACCEPTED"
            inv_stage = ("DECLINED" if g % 10 == 0 else "WON" if g % 10 == 5
                         else "RECEIVED" if g % 3 == 0 else "ACCEPTED")
        elif g <= n_in + n_out:
            orig_k = 1
            inv_k = None if g % 4 == 0 else [0, 2, 3][g % 3]
            orig_stage = "WON" if g % 10 == 1 else "LOST" if g % 10 == 2 else "ACCEPTED"
            inv_stage = "RECEIVED" if (g // 4) % 2 == 0 else "ACCEPTED"
        else:
            orig_k, inv_k = [2, 3, 4][g % 3], [3, 4, 2][g % 3]
            orig_stage = "ACCEPTED"
            inv_stage = "RECEIVED" if (g // 4) % 2 == 0 else "ACCEPTED"
        t = now - dt.timedelta(seconds=g * 83)
        topic = TOPICS[g % 5]
        # Ids in creation order, as cosell makes them (UUIDv7 of the creation time).
        opened, sent = epoch_ms(t - dt.timedelta(hours=1)), epoch_ms(t)
        eng, orig_opp = uuid7(opened), uuid7(opened)
        inv_opp = uuid7(sent) if inv_k is not None else None
        inv = uuid7(sent) if inv_k is not None else None
        cust = custs[g % len(custs)]
        ms = 0 in (orig_k, inv_k)
        deal_type = "PRIVATE" if inv_k is None else "CO_SELL" if ms else "PARTNER_TO_PARTNER"
        help_wanted = "TECHNICAL_ARCHITECTURE" if ms else "NONE"
        eng_rows.append((eng, cust, orgs[orig_k]["id"], deal_type, help_wanted, "Chris Customer",
                         "+49 30 1234567", "chris@customer.example", 1,
                         ts(t) if inv_k == 0 else None, ts(t - dt.timedelta(hours=1)), ts(t)))
        value_e4 = (10000 + (g * 37) % 490000) * 10000
        currency = "EUR" if g % 2 == 0 else "USD"
        close_date = (today + dt.timedelta(days=30 + g % 300)).isoformat()
        name = f"Bench deal {g} {topic}"
        sides = [(0, orig_opp, orig_k, "OUTBOUND", orig_stage, t - dt.timedelta(hours=1))]
        if inv_k is not None:
            sides.append((1, inv_opp, inv_k, "INBOUND", inv_stage, t))
        for s, oid, k, direction, stage, created in sides:
            closed = stage in ("WON", "LOST", "DECLINED")
            answered = t + dt.timedelta(minutes=20)
            opp_rows.append((
                oid, eng, orgs[k]["id"], direction, stage, name, name.lower(),
                f"{name} seeded for the benchmark crm b {g}".lower(), value_e4, currency,
                close_date, f"CRM-B-{g}", None, "Seeded for the benchmark",
                inv if s == 1 else None,
                ts(t + dt.timedelta(days=14)) if s == 1 else None, None,
                ts(answered) if closed else None,
                "CHOSE_ANOTHER_VENDOR" if stage == "LOST"
                else "TIMELINE_TOO_SHORT" if stage == "DECLINED" else None,
                None, 0 if stage == "RECEIVED" else 1 if stage == "ACCEPTED" else 2,
                ts(created), ts(created if stage == "RECEIVED" else answered)))
            if stage in ("RECEIVED", "DECLINED"):
                continue
            admin = orgs[k]["admin"]
            for m in range(0, g % 3 + 1):
                email = admin[2] if m == 0 else f"member{m}.deal{g}@bench.example"
                team_rows.append((uuid7(epoch_ms(created)), oid,
                                  admin[1] if m == 0 else f"Member {m} of deal {g}",
                                  f"+14255550{m + 100:03d}", email, email.lower(), 1, m,
                                  ts(created)))
            for sol in orgs[k]["sols"][:min(len(orgs[k]["sols"]), 1 + g % 2)]:
                sol_rows.append((oid, sol, ts(created)))
        if inv_k is not None:
            oi, oe = orgs[orig_k], orgs[inv_k]
            answered = inv_stage != "RECEIVED"
            inv_rows.append((
                inv, eng, oi["id"], oi["admin"][0], orig_opp, oe["id"], inv_opp, close_date,
                value_e4, currency, f"{oe['name']} would help on delivery", help_wanted,
                json.dumps([{"email": oi["admin"][2], "name": oi["admin"][1], "notify": True,
                             "phone": "+14255550100"}], separators=(",", ":")),
                json.dumps([str(uuid.UUID(bytes=oi["sols"][0]))]),
                {"RECEIVED": "PENDING", "DECLINED": "DECLINED"}.get(inv_stage, "ACCEPTED"),
                ts(t), ts(t + dt.timedelta(days=14)),
                ts(t + dt.timedelta(minutes=10)) if answered else None,
                oe["admin"][0] if answered else None,
                "TIMELINE_TOO_SHORT" if inv_stage == "DECLINED" else None, None))

    with db:
        db.executemany("INSERT INTO engagements (id, customer_id, originator_id, deal_type, "
                       "help_wanted, contact_name, contact_phone, contact_email, "
                       "contact_consent, microsoft_invited_at, created_at, updated_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", eng_rows)
        db.executemany("INSERT INTO opportunities (id, engagement_id, organization_id, "
                       "direction, stage, deal_name, deal_name_norm, search_norm, value_e4, "
                       "currency, close_date, crm_id, campaign_id, notes, invitation_id, "
                       "expires_at, reminded_at, closed_at, close_reason, close_notes, "
                       "version, created_at, updated_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", opp_rows)
        db.executemany("INSERT INTO invitations (id, engagement_id, inviter_organization_id, "
                       "inviter_user_id, inviter_opportunity_id, invitee_organization_id, "
                       "invitee_opportunity_id, close_date, value_e4, currency, notes, "
                       "help_wanted, team, solution_ids, status, sent_at, expires_at, "
                       "answered_at, answered_by_user_id, decline_reason, decline_notes) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", inv_rows)
        db.executemany("INSERT INTO team_members (id, opportunity_id, name, phone, email, "
                       "email_norm, notify, position, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                       team_rows)
        db.executemany("INSERT INTO opportunity_solutions (opportunity_id, solution_id, "
                       "created_at) VALUES (?,?,?)", sol_rows)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
        "opportunities", "engagements", "team_members", "opportunity_solutions",
        "invitations", "customers")}
    db.close()
    print(f"SQLite: {counts['opportunities']} opportunities, {counts['engagements']} "
          f"engagements, {counts['team_members']} team members, "
          f"{counts['opportunity_solutions']} opportunity solutions, "
          f"{counts['invitations']} invitations, {counts['customers']} customers "
          f"(bulk insert {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
