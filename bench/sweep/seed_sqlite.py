#!/usr/bin/env python3
"""Due invitations for the expiry sweep benchmark in a SQLite file that cosell migrated and
seeded with its demo directory: the same plan as bench/sweep/seed_pg.sql (read its
header), written in SQL inside SQLite (a recursive series) and the way cosell writes
SQLite rows: uuids as 16-byte blobs, timestamps as RFC 3339 text
`YYYY-MM-DDTHH:MM:SS+00:00` (UTC), dates `YYYY-MM-DD`, booleans 0/1, JSON as text.

Usage: seed_sqlite.py DB N
"""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from uuid7 import uuid7  # noqa: E402

ORG_NAMES = ["Microsoft", "Contoso Consulting", "Fabrikam Solutions", "Northwind Traders",
             "Adventure Works Cloud"]


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    # uuid7(epoch second): ids in creation order, as cosell makes them.
    db.create_function("uuid7", 1, lambda s: uuid7(int(s) * 1000))
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA cache_size = -262144")
    db.execute("BEGIN")
    db.execute("""CREATE TEMP TABLE orgs AS
        SELECT o.id, o.name,
          (SELECT u.id FROM users u WHERE u.organization_id = o.id
             AND u.roles LIKE '%REFERRAL_ADMIN%' ORDER BY u.email LIMIT 1) AS admin_id,
          (SELECT u.name FROM users u WHERE u.organization_id = o.id
             AND u.roles LIKE '%REFERRAL_ADMIN%' ORDER BY u.email LIMIT 1) AS admin_name,
          (SELECT u.email FROM users u WHERE u.organization_id = o.id
             AND u.roles LIKE '%REFERRAL_ADMIN%' ORDER BY u.email LIMIT 1) AS admin_email,
          (SELECT s.id FROM solutions s WHERE s.publisher_id = o.id AND s.co_sell_ready
             ORDER BY s.name_norm LIMIT 1) AS sol,
          CASE o.name """ + " ".join(f"WHEN '{name}' THEN {k}" for k, name in
                                   enumerate(ORG_NAMES)) + """ END AS k
        FROM organizations o WHERE o.name IN (""" + ", ".join(f"'{x}'" for x in ORG_NAMES) + ")")
    assert db.execute("SELECT count(*) FROM orgs").fetchone()[0] == 5, "demo directory missing"
    db.execute("""CREATE TEMP TABLE custs AS
        SELECT id, (row_number() OVER (ORDER BY name_norm, id)) - 1 AS k FROM customers""")
    n_custs = db.execute("SELECT count(*) FROM custs").fetchone()[0]
    base = int(time.time())
    # te: the epoch second the invitation was sent (14 days + 1 hour + g seconds ago).
    db.execute("""CREATE TEMP TABLE plan AS
        WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ?)
        SELECT x.*, uuid7(te - 3600) AS eng, uuid7(te - 3600) AS orig_opp,
          uuid7(te) AS inv_opp, uuid7(te) AS inv
        FROM (SELECT g, g % 5 AS orig_k, (g % 5 + 1 + (g / 5) % 4) % 5 AS inv_k,
          ? - 1213200 - g AS te,
          CASE g % 5 WHEN 0 THEN 'Cloud migration' WHEN 1 THEN 'Data platform'
            WHEN 2 THEN 'Security review' WHEN 3 THEN 'Copilot rollout'
            ELSE 'Field service' END AS topic,
          g % ? AS cust_k
        FROM s) x""", (n, base, n_custs))
    ts = "(strftime('%Y-%m-%dT%H:%M:%S', {}, 'unixepoch') || '+00:00')".format
    db.execute(f"""CREATE TEMP TABLE team AS
        SELECT p.g, p.orig_opp, p.te, m.m,
          CASE WHEN m.m = 0 THEN o.admin_name ELSE 'Member ' || m.m || ' of sweep deal ' || p.g END AS name,
          CASE WHEN m.m = 0 THEN o.admin_email ELSE 'member' || m.m || '.sweep' || p.g || '@bench.example' END AS email,
          '+14255550' || (100 + m.m) AS phone,
          m.m <> 2 AS notify
        FROM plan p JOIN orgs o ON o.k = p.orig_k
        JOIN (SELECT 0 AS m UNION ALL SELECT 1 UNION ALL SELECT 2) m ON m.m <= p.g % 3
        ORDER BY p.g, m.m""")
    db.execute(f"""INSERT INTO engagements (id, customer_id, originator_id, deal_type,
          help_wanted, contact_name, contact_phone, contact_email, contact_consent,
          microsoft_invited_at, created_at, updated_at)
        SELECT p.eng, c.id, o.id,
          CASE WHEN 0 IN (p.orig_k, p.inv_k) THEN 'CO_SELL' ELSE 'PARTNER_TO_PARTNER' END,
          CASE WHEN 0 IN (p.orig_k, p.inv_k) THEN 'TECHNICAL_ARCHITECTURE' ELSE 'NONE' END,
          'Chris Customer', '+49 30 1234567', 'chris@customer.example', 1,
          CASE WHEN p.inv_k = 0 THEN {ts('p.te')} END,
          {ts('p.te - 3600')}, {ts('p.te')}
        FROM plan p JOIN orgs o ON o.k = p.orig_k JOIN custs c ON c.k = p.cust_k""")
    for side in ("OUTBOUND", "INBOUND"):
        out = side == "OUTBOUND"
        db.execute(f"""INSERT INTO opportunities (id, engagement_id, organization_id,
              direction, stage, deal_name, deal_name_norm, search_norm, value_e4, currency,
              close_date, crm_id, campaign_id, notes, invitation_id, expires_at,
              reminded_at, closed_at, close_reason, close_notes, version, created_at,
              updated_at)
            SELECT {'p.orig_opp' if out else 'p.inv_opp'}, p.eng, o.id, '{side}',
              '{'ACCEPTED' if out else 'RECEIVED'}',
              'Sweep deal ' || p.g || ' ' || p.topic,
              lower('sweep deal ' || p.g || ' ' || p.topic),
              lower('sweep deal ' || p.g || ' ' || p.topic
                    || ' seeded for the sweep benchmark crm s ' || p.g),
              (10000 + (p.g * 37) % 490000) * 10000,
              CASE WHEN p.g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
              date('now', '+' || (30 + p.g % 300) || ' days'),
              'CRM-S-' || p.g, NULL, 'Seeded for the sweep benchmark',
              {'NULL' if out else 'p.inv'},
              {'NULL' if out else ts('p.te + 1209600')},
              NULL, NULL, NULL, NULL, {1 if out else 0},
              {ts('p.te - 3600') if out else ts('p.te')},
              {ts('p.te - 3600') if out else ts('p.te')}
            FROM plan p JOIN orgs o ON o.k = {'p.orig_k' if out else 'p.inv_k'}""")
    db.execute(f"""INSERT INTO team_members (id, opportunity_id, name, phone, email,
          email_norm, notify, position, created_at)
        SELECT uuid7(t.te - 3600), t.orig_opp, t.name, t.phone, t.email, lower(t.email),
          t.notify, t.m, {ts('t.te - 3600')}
        FROM team t""")
    db.execute(f"""INSERT INTO opportunity_solutions (opportunity_id, solution_id, created_at)
        SELECT p.orig_opp, o.sol, {ts('p.te - 3600')}
        FROM plan p JOIN orgs o ON o.k = p.orig_k""")
    # Uuids in JSON are lower-case hyphenated text, as serde writes them.
    uuid_text = ("lower(substr(hex({0}), 1, 8) || '-' || substr(hex({0}), 9, 4) || '-' || "
                 "substr(hex({0}), 13, 4) || '-' || substr(hex({0}), 17, 4) || '-' || "
                 "substr(hex({0}), 21))").format
    db.execute(f"""INSERT INTO invitations (id, engagement_id, inviter_organization_id,
          inviter_user_id, inviter_opportunity_id, invitee_organization_id,
          invitee_opportunity_id, close_date, value_e4, currency, notes, help_wanted, team,
          solution_ids, status, sent_at, expires_at, answered_at, answered_by_user_id,
          decline_reason, decline_notes)
        SELECT p.inv, p.eng, oi.id, oi.admin_id, p.orig_opp, oe.id, p.inv_opp,
          date('now', '+' || (30 + p.g % 300) || ' days'),
          (10000 + (p.g * 37) % 490000) * 10000,
          CASE WHEN p.g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
          oe.name || ' would help on delivery',
          CASE WHEN 0 IN (p.orig_k, p.inv_k) THEN 'TECHNICAL_ARCHITECTURE' ELSE 'NONE' END,
          tm.team, json_array({uuid_text('oi.sol')}),
          'PENDING', {ts('p.te')}, {ts('p.te + 1209600')}, NULL, NULL, NULL, NULL
        FROM plan p JOIN orgs oi ON oi.k = p.orig_k JOIN orgs oe ON oe.k = p.inv_k
        JOIN (SELECT g, json_group_array(json_object('name', name, 'phone', phone,
                'email', email, 'notify', json(CASE WHEN notify THEN 'true' ELSE 'false' END)))
                AS team
              FROM (SELECT * FROM team ORDER BY g, m) GROUP BY g) tm ON tm.g = p.g""")
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
        "opportunities", "engagements", "team_members", "invitations")}
    db.close()
    print(f"SQLite: {counts['opportunities']} opportunities, {counts['engagements']} "
          f"engagements, {counts['team_members']} team members, "
          f"{counts['invitations']} invitations "
          f"(sweep seed {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
