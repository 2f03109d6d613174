-- Fills a seeded PostgreSQL database's outbox with :n due emails for bench/run-outbox.
-- The rows are copies, round-robin, of the ones `cosell seed` queued through the real
-- services (same kinds, recipients, subjects, rendered bodies, timestamps; the sweep's
-- emails as the invitation they are about, rendered by the worker), each with a
-- fresh UUIDv7 id like the real code's `Uuid::now_v7()` (bench/sql/uuid7.sql); the seeded originals
-- are then deleted, so the outbox holds exactly :n PENDING rows.
\ir ../sql/uuid7.sql
BEGIN;
CREATE TEMP TABLE seed_mail ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY id) - 1 AS k, * FROM email_outbox;
DELETE FROM email_outbox;
INSERT INTO email_outbox (id, event_seq, kind, organization_id, recipient_email,
    recipient_name, subject, body_text, body_html, status, attempts, next_attempt_at,
    lease_until, last_error, sent_at, created_at, invitation_id)
SELECT pg_temp.uuid7(clock_timestamp()),
       s.event_seq, s.kind, s.organization_id, s.recipient_email, s.recipient_name,
       s.subject, s.body_text, s.body_html, 'PENDING', 0, s.next_attempt_at,
       NULL, NULL, NULL, s.created_at, s.invitation_id
FROM generate_series(0, :n - 1) AS g
JOIN seed_mail s ON s.k = g % (SELECT count(*) FROM seed_mail);
COMMIT;
ANALYZE email_outbox;
SELECT 'PostgreSQL outbox: ' || count(*) || ' PENDING rows' FROM email_outbox WHERE status = 'PENDING';
