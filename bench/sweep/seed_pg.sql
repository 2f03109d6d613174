-- Due invitations for the expiry sweep benchmark (bench/run-sweep), on a PostgreSQL
-- database that cosell migrated and seeded with its demo directory (and, for a realistic
-- background, bench/sql/seed_pg.sql's ~10k deals, none of them due). Applied with
-- psql -v n=…; bench/sweep/seed_sqlite.py writes the same plan into SQLite.
-- Engagement g (1 <= g <= n):
--   inviter  organization g % 5 (Microsoft, Contoso, Fabrikam, Northwind, Adventure Works),
--   invitee  organization (g % 5 + 1 + (g / 5) % 4) % 5: never the inviter;
--   the inviter's OUTBOUND side is ACCEPTED with a team of 1-3 (g % 3 + 1; the first
--   member is the organization's referral admin, the third does not want email) and one
--   co-sell-ready solution; the invitee's INBOUND side is RECEIVED; the invitation is
--   PENDING, its team the frozen copy of the inviter's team, sent 14 days + 1 hour + g
--   seconds ago, so its window ended 1 hour + g seconds ago: every one is due.
-- Each expiry therefore mails the inviter's team members who want email (1, 2 or 2) and
-- the invitee's referral admin (1): 8/3 emails per invitation on average.
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE orgs AS
SELECT o.id, o.name,
       (SELECT u.id FROM users u WHERE u.organization_id = o.id AND u.roles LIKE '%REFERRAL_ADMIN%'
        ORDER BY u.email LIMIT 1) AS admin_id,
       (SELECT u.name FROM users u WHERE u.organization_id = o.id AND u.roles LIKE '%REFERRAL_ADMIN%'
        ORDER BY u.email LIMIT 1) AS admin_name,
       (SELECT u.email FROM users u WHERE u.organization_id = o.id AND u.roles LIKE '%REFERRAL_ADMIN%'
        ORDER BY u.email LIMIT 1) AS admin_email,
       (SELECT s.id FROM solutions s WHERE s.publisher_id = o.id AND s.co_sell_ready
        ORDER BY s.name_norm LIMIT 1) AS sol,
       CASE o.name WHEN 'Microsoft' THEN 0 WHEN 'Contoso Consulting' THEN 1
                   WHEN 'Fabrikam Solutions' THEN 2 WHEN 'Northwind Traders' THEN 3
                   WHEN 'Adventure Works Cloud' THEN 4 END AS k
FROM organizations o
WHERE o.name IN ('Microsoft', 'Contoso Consulting', 'Fabrikam Solutions',
                 'Northwind Traders', 'Adventure Works Cloud');

CREATE TEMP TABLE custs AS
SELECT id, (row_number() OVER (ORDER BY name_norm, id)) - 1 AS k FROM customers;

-- Ids are UUIDv7 of the row's creation time, as cosell makes them: rows created together
-- then sit together in the primary-key and foreign-key indexes.
\ir ../sql/uuid7.sql

CREATE TEMP TABLE plan AS
SELECT x.*,
  pg_temp.uuid7(t - interval '1 hour') AS eng, pg_temp.uuid7(t - interval '1 hour') AS orig_opp,
  pg_temp.uuid7(t) AS inv_opp, pg_temp.uuid7(t) AS inv
FROM (SELECT g, g % 5 AS orig_k, (g % 5 + 1 + (g / 5) % 4) % 5 AS inv_k,
        date_trunc('second', now()) - interval '14 days 1 hour' - make_interval(secs => g) AS t,
        (ARRAY['Cloud migration', 'Data platform', 'Security review', 'Copilot rollout',
               'Field service'])[g % 5 + 1] AS topic
      FROM generate_series(1, :n::int) g) x;
ALTER TABLE plan ADD COLUMN cust uuid;
UPDATE plan SET cust = c.id FROM custs c
WHERE c.k = plan.g % (SELECT count(*) FROM custs);

-- The inviter's team: member 0 is the admin, member 2 wants no email.
CREATE TEMP TABLE team AS
SELECT p.g, p.orig_opp, p.t, m,
  CASE WHEN m = 0 THEN o.admin_name ELSE 'Member ' || m || ' of sweep deal ' || p.g END AS name,
  CASE WHEN m = 0 THEN o.admin_email ELSE 'member' || m || '.sweep' || p.g || '@bench.example' END AS email,
  '+14255550' || (100 + m) AS phone,
  m <> 2 AS notify
FROM plan p JOIN orgs o ON o.k = p.orig_k
CROSS JOIN LATERAL generate_series(0, p.g % 3) m;

INSERT INTO engagements (id, customer_id, originator_id, deal_type, help_wanted,
  contact_name, contact_phone, contact_email, contact_consent, microsoft_invited_at,
  created_at, updated_at)
SELECT p.eng, p.cust, o.id,
  CASE WHEN 0 IN (p.orig_k, p.inv_k) THEN 'CO_SELL' ELSE 'PARTNER_TO_PARTNER' END,
  CASE WHEN 0 IN (p.orig_k, p.inv_k) THEN 'TECHNICAL_ARCHITECTURE' ELSE 'NONE' END,
  'Chris Customer', '+49 30 1234567', 'chris@customer.example', true,
  CASE WHEN p.inv_k = 0 THEN p.t END,
  p.t - interval '1 hour', p.t
FROM plan p JOIN orgs o ON o.k = p.orig_k;

INSERT INTO opportunities (id, engagement_id, organization_id, direction, stage,
  deal_name, deal_name_norm, search_norm, value_e4, currency, close_date, crm_id,
  campaign_id, notes, invitation_id, expires_at, reminded_at, closed_at, close_reason,
  close_notes, version, created_at, updated_at)
SELECT s.id, p.eng, o.id, s.direction, s.stage,
  'Sweep deal ' || p.g || ' ' || p.topic,
  lower('sweep deal ' || p.g || ' ' || p.topic),
  lower('sweep deal ' || p.g || ' ' || p.topic || ' seeded for the sweep benchmark crm s ' || p.g),
  (10000 + (p.g * 37) % 490000)::bigint * 10000,
  CASE WHEN p.g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
  current_date + (30 + p.g % 300),
  'CRM-S-' || p.g, NULL, 'Seeded for the sweep benchmark',
  s.invitation_id, s.expires_at, NULL, NULL, NULL, NULL, s.version,
  s.created_at, s.created_at
FROM plan p
CROSS JOIN LATERAL (VALUES
  (p.orig_opp, p.orig_k, 'OUTBOUND', 'ACCEPTED', NULL::uuid, NULL::timestamptz, 1,
   p.t - interval '1 hour'),
  (p.inv_opp, p.inv_k, 'INBOUND', 'RECEIVED', p.inv, p.t + interval '14 days', 0, p.t)
) AS s(id, k, direction, stage, invitation_id, expires_at, version, created_at)
JOIN orgs o ON o.k = s.k;

INSERT INTO team_members (id, opportunity_id, name, phone, email, email_norm, notify,
  position, created_at)
SELECT pg_temp.uuid7(t.t - interval '1 hour'), t.orig_opp, t.name, t.phone, t.email,
  lower(t.email), t.notify, t.m,
  t.t - interval '1 hour'
FROM team t;

INSERT INTO opportunity_solutions (opportunity_id, solution_id, created_at)
SELECT p.orig_opp, o.sol, p.t - interval '1 hour'
FROM plan p JOIN orgs o ON o.k = p.orig_k;

INSERT INTO invitations (id, engagement_id, inviter_organization_id, inviter_user_id,
  inviter_opportunity_id, invitee_organization_id, invitee_opportunity_id, close_date,
  value_e4, currency, notes, help_wanted, team, solution_ids, status, sent_at, expires_at,
  answered_at, answered_by_user_id, decline_reason, decline_notes)
SELECT p.inv, p.eng, oi.id, oi.admin_id, p.orig_opp, oe.id, p.inv_opp,
  current_date + (30 + p.g % 300),
  (10000 + (p.g * 37) % 490000)::bigint * 10000,
  CASE WHEN p.g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
  oe.name || ' would help on delivery',
  CASE WHEN 0 IN (p.orig_k, p.inv_k) THEN 'TECHNICAL_ARCHITECTURE' ELSE 'NONE' END,
  tm.team,
  json_build_array(oi.sol),
  'PENDING', p.t, p.t + interval '14 days', NULL, NULL, NULL, NULL
FROM plan p JOIN orgs oi ON oi.k = p.orig_k JOIN orgs oe ON oe.k = p.inv_k
JOIN (SELECT g, json_agg(json_build_object('name', name, 'phone', phone, 'email', email,
                                           'notify', notify) ORDER BY m) AS team
      FROM team GROUP BY g) tm ON tm.g = p.g;

COMMIT;
ANALYZE;
