-- The expiry sweep's writes as plain SQL inside PostgreSQL, with no client at all: the
-- floor under what `cosell sweep` can reach on a database, for the same rows. Batches
-- of 5,000 (one transaction each, as cosell's), each: the claim by key in `expires_at`
-- order, the invitations' update, their emails as facts (the inviter's team members who
-- want email and did not turn notifications off, plus the invitee's active referral
-- admins with notifications on, one per address), the event counter, one event per
-- expiry and its two visibility rows. One worker (cosell runs two). Prints one line in
-- `cosell sweep`'s form ("expired N invitations in S s") and one with each phase's
-- seconds, so bench/run-sweep checks what it wrote with the same rules.
--
--   SWEEP_FLOOR=1 bench/run-sweep     # runs it on a copy of the seeded database
--   psql -At "$url" -f bench/sweep/floor_pg.sql
--
-- Run it only on a copy of a seeded sweep database (bench/README.md, "The floor under
-- the sweep"): it expires everything due.
\ir ../sql/uuid7.sql
CREATE TEMP TABLE floor_result (expired bigint, seconds float8, phases text);
CREATE TEMP TABLE floor_batch (
  id uuid, engagement_id uuid, organization_id uuid, invitation_id uuid, rn bigint
);
CREATE TEMP TABLE floor_invitations (
  id uuid, inviter_organization_id uuid, invitee_organization_id uuid, team json
);
DO $$
DECLARE
  t timestamptz := now();
  n bigint;
  top bigint;
  batches int := 0;
  expired bigint := 0;
  started timestamptz := clock_timestamp();
  mark timestamptz;
  spent float8[] := array[0, 0, 0, 0, 0, 0];
BEGIN
  LOOP
    TRUNCATE floor_batch, floor_invitations;
    mark := clock_timestamp();
    WITH claimed AS (
      UPDATE opportunities SET stage = 'EXPIRED', closed_at = t, updated_at = t,
        version = version + 1
      WHERE stage = 'RECEIVED' AND expires_at <= t
        AND id = ANY(ARRAY(SELECT id FROM opportunities
                           WHERE stage = 'RECEIVED' AND expires_at <= t
                           ORDER BY expires_at LIMIT 5000 FOR UPDATE SKIP LOCKED))
      RETURNING id, engagement_id, organization_id, invitation_id
    )
    INSERT INTO floor_batch SELECT c.*, row_number() OVER () FROM claimed c;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n = 0;
    spent[1] := spent[1] + extract(epoch FROM clock_timestamp() - mark); mark := clock_timestamp();

    WITH inv AS (
      UPDATE invitations SET status = 'EXPIRED', answered_at = t
      WHERE status = 'PENDING'
        AND id IN (SELECT invitation_id FROM floor_batch WHERE invitation_id IS NOT NULL)
      RETURNING id, inviter_organization_id, invitee_organization_id, team
    )
    INSERT INTO floor_invitations SELECT * FROM inv;
    spent[6] := spent[6] + extract(epoch FROM clock_timestamp() - mark); mark := clock_timestamp();

    WITH recipients AS (
      SELECT DISTINCT ON (inv.id, lower(r.email)) inv.id, r.org, r.email, r.name
      FROM floor_invitations inv CROSS JOIN LATERAL (
        SELECT inv.inviter_organization_id AS org, m->>'email' AS email, m->>'name' AS name
        FROM json_array_elements(inv.team::json) m
        WHERE (m->>'notify')::boolean
          AND NOT EXISTS (SELECT 1 FROM users u WHERE NOT u.notifications_enabled
                          AND lower(u.email) = lower(m->>'email'))
        UNION ALL
        SELECT inv.invitee_organization_id, u.email, u.name FROM users u
        WHERE u.organization_id = inv.invitee_organization_id AND u.active
          AND u.notifications_enabled AND u.roles LIKE '%REFERRAL_ADMIN%'
      ) r
    )
    INSERT INTO email_outbox (id, kind, organization_id, recipient_email, recipient_name,
      subject, body_text, body_html, status, attempts, next_attempt_at, created_at,
      invitation_id)
    SELECT pg_temp.uuid7(t), 'INVITATION_EXPIRED', org, email, name, '', '', '',
      'PENDING', 0, t, t, id
    FROM recipients;
    spent[2] := spent[2] + extract(epoch FROM clock_timestamp() - mark); mark := clock_timestamp();

    UPDATE event_counter SET last = last + n WHERE id = 1 RETURNING last INTO top;
    INSERT INTO events (seq, id, kind, occurred_at, engagement_id, opportunity_id, payload)
    SELECT top - n + b.rn, pg_temp.uuid7(t), 'INVITATION_EXPIRED', t, b.engagement_id,
      b.id, json_build_object('invitationId', b.invitation_id)
    FROM floor_batch b;
    spent[3] := spent[3] + extract(epoch FROM clock_timestamp() - mark); mark := clock_timestamp();
    INSERT INTO event_visibility (organization_id, event_seq)
    SELECT b.organization_id, top - n + b.rn FROM floor_batch b
    UNION ALL
    SELECT i.inviter_organization_id, top - n + b.rn
    FROM floor_batch b JOIN invitations i ON i.id = b.invitation_id;
    spent[4] := spent[4] + extract(epoch FROM clock_timestamp() - mark); mark := clock_timestamp();
    COMMIT;
    spent[5] := spent[5] + extract(epoch FROM clock_timestamp() - mark); mark := clock_timestamp();
    batches := batches + 1;
    expired := expired + n;
  END LOOP;
  INSERT INTO floor_result VALUES (expired,
    extract(epoch FROM clock_timestamp() - started),
    format('floor phases (s): claim %s, invitations %s, emails %s, counter and events %s, visibility %s, commit %s; %s batches',
      round(spent[1]::numeric, 1), round(spent[6]::numeric, 1), round(spent[2]::numeric, 1),
      round(spent[3]::numeric, 1), round(spent[4]::numeric, 1), round(spent[5]::numeric, 1),
      batches));
END $$;
SELECT format('expired %s invitations in %s s', expired, round(seconds::numeric, 3)) FROM floor_result
UNION ALL
SELECT phases FROM floor_result;
