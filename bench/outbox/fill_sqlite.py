"""Fills a seeded SQLite database's outbox with N due emails for bench/run-outbox.

The rows are copies, round-robin, of the ones `cosell seed` queued through the real
services (same kinds, recipients, subjects, rendered text and HTML bodies, RFC 3339 text
timestamps as sqlx writes them; the sweep's emails as the invitation they are about,
rendered by the worker), each with a fresh UUIDv7 id as a 16-byte blob like the
real code's `Uuid::now_v7()`; the seeded originals are then deleted, so the outbox
holds exactly N PENDING rows.

usage: fill_sqlite.py DB_FILE N
"""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from uuid7 import uuid7  # noqa: E402

COLS = ("event_seq, kind, organization_id, recipient_email, recipient_name, subject, "
        "body_text, body_html, next_attempt_at, created_at, invitation_id")


def main() -> None:
    path, n = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(path)
    seeds = db.execute(f"SELECT id, {COLS} FROM email_outbox ORDER BY id").fetchall()
    if not seeds:
        sys.exit("no seeded outbox rows to copy: run `cosell seed` first")
    ms = int(time.time() * 1000)
    rows = []
    for i in range(n):
        s = seeds[i % len(seeds)]
        rows.append((uuid7(ms + i // 1000),) + s[1:])
    with db:
        db.execute("DELETE FROM email_outbox")
        db.executemany(
            f"INSERT INTO email_outbox (id, {COLS}, status, attempts, lease_until, "
            "last_error, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'PENDING',0,NULL,NULL,NULL)",
            rows,
        )
    (count,) = db.execute("SELECT count(*) FROM email_outbox WHERE status = 'PENDING'").fetchone()
    print(f"SQLite outbox: {count} PENDING rows (copies of {len(seeds)} seeded emails)")


if __name__ == "__main__":
    main()
