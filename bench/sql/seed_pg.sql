-- Bulk deals for the benchmark, on a PostgreSQL database that cosell migrated and
-- seeded with its demo directory (`cosell migrate`, `cosell seed`). bench/run applies it
-- with psql -v n_in=… -v n_out=… -v n_other=…; bench/seed_sqlite.py writes the same
-- plan into SQLite. Engagement g (1-based) is:
--   g <= n_in            another organization (Microsoft, Fabrikam, Northwind, Adventure
--                        Works in turn) invited Contoso: Contoso's INBOUND side is
--                        RECEIVED (g % 3 = 0), ACCEPTED, WON (g % 10 = 5) or DECLINED
--                        (g % 10 = 0), with the invitation in the matching status;
--   next n_out           Contoso originated: ACCEPTED (WON when g % 10 = 1, LOST when
--                        g % 10 = 2); when g % 4 <> 0 it invited Microsoft, Fabrikam or
--                        Northwind (g % 3), whose side is RECEIVED or ACCEPTED;
--   next n_other         Fabrikam, Northwind and Adventure Works invite each other.
-- Accepted (and closed after acceptance) sides have a team of 1-3 (Contoso's starts with
-- Anna Admin) and 1-2 of their organization's co-sell-ready solutions; received and
-- declined sides have neither, as in cosell. No events are written for these deals. Ids
-- are UUIDv7 of each row's creation time, as cosell makes them.
\set ON_ERROR_STOP on
BEGIN;
\ir uuid7.sql

CREATE TEMP TABLE orgs AS
SELECT o.id, o.name, o.kind,
       (SELECT u.id FROM users u WHERE u.organization_id = o.id AND u.roles LIKE '%REFERRAL_ADMIN%'
        ORDER BY u.email LIMIT 1) AS admin_id,
       (SELECT u.name FROM users u WHERE u.organization_id = o.id AND u.roles LIKE '%REFERRAL_ADMIN%'
        ORDER BY u.email LIMIT 1) AS admin_name,
       (SELECT u.email FROM users u WHERE u.organization_id = o.id AND u.roles LIKE '%REFERRAL_ADMIN%'
        ORDER BY u.email LIMIT 1) AS admin_email,
       ARRAY(SELECT s.id FROM solutions s WHERE s.publisher_id = o.id AND s.co_sell_ready
             ORDER BY s.name_norm) AS sols,
       CASE o.name WHEN 'Microsoft' THEN 0 WHEN 'Contoso Consulting' THEN 1
                   WHEN 'Fabrikam Solutions' THEN 2 WHEN 'Northwind Traders' THEN 3
                   WHEN 'Adventure Works Cloud' THEN 4 END AS k
FROM organizations o
WHERE o.name IN ('Microsoft', 'Contoso Consulting', 'Fabrikam Solutions',
                 'Northwind Traders', 'Adventure Works Cloud');

CREATE TEMP TABLE custs AS
SELECT id, (row_number() OVER (ORDER BY name_norm, id)) - 1 AS k FROM customers;

-- One row per engagement: who originated, who (if anyone) was invited, the stages.
CREATE TEMP TABLE plan AS
WITH g AS (
  SELECT g, :n_in::int AS n_in, :n_out::int AS n_out, :n_other::int AS n_other
  FROM generate_series(1, :n_in::int + :n_out::int + :n_other::int) g
)
SELECT g,
  CASE WHEN g <= n_in THEN (ARRAY[0, 2, 3, 4])[g % 4 + 1]
       WHEN g <= n_in + n_out THEN 1
       ELSE (ARRAY[2, 3, 4])[g % 3 + 1] END AS orig_k,
  CASE WHEN g <= n_in THEN 1
       WHEN g <= n_in + n_out THEN CASE WHEN g % 4 = 0 THEN NULL ELSE (ARRAY[0, 2, 3])[g % 3 + 1] END
       ELSE (ARRAY[3, 4, 2])[g % 3 + 1] END AS inv_k,
  CASE WHEN g <= n_in + n_out AND g > n_in AND g % 10 = 1 THEN 'WON'
       WHEN g <= n_in + n_out AND g > n_in AND g % 10 = 2 THEN 'LOST'
       ELSE 'ACCEPTED' END AS orig_stage,
  CASE WHEN g <= n_in THEN
         CASE WHEN g % 10 = 0 THEN 'DECLINED' WHEN g % 10 = 5 THEN 'WON'
              WHEN g % 3 = 0 THEN 'RECEIVED' ELSE 'ACCEPTED' END
       ELSE CASE WHEN (g / 4) % 2 = 0 THEN 'RECEIVED' ELSE 'ACCEPTED' END END AS inv_stage,
  now() - make_interval(secs => g * 83) AS t,
  (ARRAY['Cloud migration', 'Data platform', 'Security review', 'Copilot rollout',
         'Field service'])[g % 5 + 1] AS topic
FROM g;

ALTER TABLE plan ADD COLUMN eng uuid, ADD COLUMN orig_opp uuid, ADD COLUMN inv_opp uuid,
  ADD COLUMN inv uuid, ADD COLUMN cust uuid;
UPDATE plan SET eng = pg_temp.uuid7(t - interval '1 hour'),
  orig_opp = pg_temp.uuid7(t - interval '1 hour'),
  inv_opp = CASE WHEN inv_k IS NULL THEN NULL ELSE pg_temp.uuid7(t) END,
  inv = CASE WHEN inv_k IS NULL THEN NULL ELSE pg_temp.uuid7(t) END,
  cust = (SELECT c.id FROM custs c WHERE c.k = plan.g % (SELECT count(*) FROM custs));

INSERT INTO engagements (id, customer_id, originator_id, deal_type, help_wanted,
  contact_name, contact_phone, contact_email, contact_consent, microsoft_invited_at,
  created_at, updated_at)
SELECT p.eng, p.cust, o.id,
  CASE WHEN p.inv_k IS NULL THEN 'PRIVATE' WHEN 0 IN (p.orig_k, p.inv_k) THEN 'CO_SELL'
       ELSE 'PARTNER_TO_PARTNER' END,
  CASE WHEN 0 IN (p.orig_k, p.inv_k) THEN 'TECHNICAL_ARCHITECTURE' ELSE 'NONE' END,
  'Chris Customer', '+49 30 1234567', 'chris@customer.example', true,
  CASE WHEN p.inv_k = 0 THEN p.t END,
  p.t - interval '1 hour', p.t
FROM plan p JOIN orgs o ON o.k = p.orig_k;

-- Both sides of each engagement: s = 0 the originator's, s = 1 the invitee's.
CREATE TEMP TABLE sides AS
SELECT 0 AS s, p.orig_opp AS id, p.orig_k AS k, 'OUTBOUND' AS direction,
       p.orig_stage AS stage, p.t - interval '1 hour' AS created_at, p.*
FROM plan p
UNION ALL
SELECT 1, p.inv_opp, p.inv_k, 'INBOUND', p.inv_stage, p.t, p.*
FROM plan p WHERE p.inv_k IS NOT NULL;

INSERT INTO opportunities (id, engagement_id, organization_id, direction, stage,
  deal_name, deal_name_norm, search_norm, value_e4, currency, close_date, crm_id,
  campaign_id, notes, invitation_id, expires_at, reminded_at, closed_at, close_reason,
  close_notes, version, created_at, updated_at)
SELECT s.id, s.eng, o.id, s.direction, s.stage,
  'Bench deal ' || s.g || ' ' || s.topic,
  lower('bench deal ' || s.g || ' ' || s.topic),
  lower('bench deal ' || s.g || ' ' || s.topic || ' seeded for the benchmark crm b ' || s.g),
  (10000 + (s.g * 37) % 490000)::bigint * 10000,
  CASE WHEN s.g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
  current_date + (30 + s.g % 300),
  'CRM-B-' || s.g, NULL, 'Seeded for the benchmark',
  CASE WHEN s.s = 1 THEN s.inv END,
  CASE WHEN s.s = 1 THEN s.t + interval '14 days' END,
  NULL,
  CASE WHEN s.stage IN ('WON', 'LOST', 'DECLINED') THEN s.t + interval '20 minutes' END,
  CASE WHEN s.stage = 'LOST' THEN 'CHOSE_ANOTHER_VENDOR'
       WHEN s.stage = 'DECLINED' THEN 'TIMELINE_TOO_SHORT' END,
  NULL,
  CASE WHEN s.stage = 'RECEIVED' THEN 0 WHEN s.stage = 'ACCEPTED' THEN 1 ELSE 2 END,
  s.created_at,
  CASE WHEN s.stage = 'RECEIVED' THEN s.created_at ELSE s.t + interval '20 minutes' END
FROM sides s JOIN orgs o ON o.k = s.k;

INSERT INTO invitations (id, engagement_id, inviter_organization_id, inviter_user_id,
  inviter_opportunity_id, invitee_organization_id, invitee_opportunity_id, close_date,
  value_e4, currency, notes, help_wanted, team, solution_ids, status, sent_at, expires_at,
  answered_at, answered_by_user_id, decline_reason, decline_notes)
SELECT p.inv, p.eng, oi.id, oi.admin_id, p.orig_opp, oe.id, p.inv_opp,
  current_date + (30 + p.g % 300),
  (10000 + (p.g * 37) % 490000)::bigint * 10000,
  CASE WHEN p.g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
  oe.name || ' would help on delivery',
  CASE WHEN p.inv_k = 0 THEN 'TECHNICAL_ARCHITECTURE' ELSE 'NONE' END,
  json_build_array(json_build_object('email', oi.admin_email, 'name', oi.admin_name,
                                     'notify', true, 'phone', '+14255550100')),
  json_build_array(oi.sols[1]),
  CASE p.inv_stage WHEN 'RECEIVED' THEN 'PENDING' WHEN 'DECLINED' THEN 'DECLINED'
                   ELSE 'ACCEPTED' END,
  p.t, p.t + interval '14 days',
  CASE WHEN p.inv_stage <> 'RECEIVED' THEN p.t + interval '10 minutes' END,
  CASE WHEN p.inv_stage <> 'RECEIVED' THEN oe.admin_id END,
  CASE WHEN p.inv_stage = 'DECLINED' THEN 'TIMELINE_TOO_SHORT' END,
  NULL
FROM plan p JOIN orgs oi ON oi.k = p.orig_k JOIN orgs oe ON oe.k = p.inv_k
WHERE p.inv_k IS NOT NULL;

-- Teams: 1-3 members on every side that was accepted; the first is the admin.
INSERT INTO team_members (id, opportunity_id, name, phone, email, email_norm, notify,
  position, created_at)
SELECT pg_temp.uuid7(s.created_at), s.id,
  CASE WHEN m = 0 THEN o.admin_name ELSE 'Member ' || m || ' of deal ' || s.g END,
  '+14255550' || (100 + m),
  CASE WHEN m = 0 THEN o.admin_email ELSE 'member' || m || '.deal' || s.g || '@bench.example' END,
  lower(CASE WHEN m = 0 THEN o.admin_email ELSE 'member' || m || '.deal' || s.g || '@bench.example' END),
  true, m, s.created_at
FROM sides s JOIN orgs o ON o.k = s.k
CROSS JOIN LATERAL generate_series(0, s.g % 3) m
WHERE s.stage NOT IN ('RECEIVED', 'DECLINED');

INSERT INTO opportunity_solutions (opportunity_id, solution_id, created_at)
SELECT s.id, o.sols[i], s.created_at
FROM sides s JOIN orgs o ON o.k = s.k
CROSS JOIN LATERAL generate_series(1, LEAST(cardinality(o.sols), 1 + s.g % 2)) i
WHERE s.stage NOT IN ('RECEIVED', 'DECLINED');

COMMIT;
ANALYZE;
