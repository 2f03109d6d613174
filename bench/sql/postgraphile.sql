-- What PostGraphile needs on the bench database (bench/run applies it after seeding; it
-- changes no table cosell uses, only adds a role, policies, a function and comments).
--
-- Authorization comparable to cosell's: the caller is the user in the token's `sub`
-- claim, verified by PostGraphile; the queries run as `cosell_bench_reader`, and
-- row-level security lets that role see only its organization's opportunities (and
-- their teams and solutions) and the invitations its organization sent or received.
-- Customers, engagements, solutions and organizations are readable, as cosell's
-- customers and organization profiles are; they are reached through the opportunities.

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cosell_bench_reader') THEN
    CREATE ROLE cosell_bench_reader NOLOGIN;
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO cosell_bench_reader;
GRANT SELECT ON organizations, users, customers, solutions, engagements, opportunities,
  team_members, opportunity_solutions, invitations TO cosell_bench_reader;

-- The caller's organization: the active user named by the verified token.
CREATE OR REPLACE FUNCTION bench_viewer_org() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT u.organization_id FROM users u
  WHERE u.id = NULLIF(current_setting('jwt.claims.sub', true), '')::uuid AND u.active
$$;
COMMENT ON FUNCTION bench_viewer_org() IS E'@omit';
GRANT EXECUTE ON FUNCTION bench_viewer_org() TO cosell_bench_reader;

ALTER TABLE opportunities ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_org ON opportunities;
CREATE POLICY own_org ON opportunities FOR SELECT TO cosell_bench_reader
  USING (organization_id = (SELECT bench_viewer_org()));

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_side ON invitations;
CREATE POLICY own_side ON invitations FOR SELECT TO cosell_bench_reader
  USING ((SELECT bench_viewer_org()) IN (inviter_organization_id, invitee_organization_id));

ALTER TABLE team_members ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_opportunity ON team_members;
CREATE POLICY own_opportunity ON team_members FOR SELECT TO cosell_bench_reader
  USING (EXISTS (SELECT 1 FROM opportunities o WHERE o.id = team_members.opportunity_id
                 AND o.organization_id = (SELECT bench_viewer_org())));

ALTER TABLE opportunity_solutions ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_opportunity ON opportunity_solutions;
CREATE POLICY own_opportunity ON opportunity_solutions FOR SELECT TO cosell_bench_reader
  USING (EXISTS (SELECT 1 FROM opportunities o WHERE o.id = opportunity_solutions.opportunity_id
                 AND o.organization_id = (SELECT bench_viewer_org())));

-- cosell's INBOUND tab: invited, received or accepted (the organization filter is the
-- policy above). An inlinable SQL function, sortable, so PostGraphile pages it with
-- ORDER BY created_at DESC, id DESC like cosell's default order.
CREATE OR REPLACE FUNCTION inbound_opportunities() RETURNS SETOF opportunities
LANGUAGE sql STABLE AS $$
  SELECT * FROM opportunities
  WHERE direction = 'INBOUND' AND stage IN ('RECEIVED', 'ACCEPTED')
$$;
-- `@sortable` is PostGraphile 4's tag, `@behavior` version 5's.
COMMENT ON FUNCTION inbound_opportunities() IS E'@sortable\n@behavior +orderBy +order';
GRANT EXECUTE ON FUNCTION inbound_opportunities() TO cosell_bench_reader;

-- The invitation's organizations have no foreign key in cosell's schema; tell
-- PostGraphile about the invitee so the page can name it, as cosell's does.
COMMENT ON TABLE invitations IS
  E'@foreignKey (invitee_organization_id) references organizations (id)';
