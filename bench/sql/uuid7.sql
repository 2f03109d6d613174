-- pg_temp.uuid7(ts): a UUIDv7 of ts, as cosell makes ids (Uuid::now_v7; PostgreSQL 15 has
-- no uuidv7()): a random v4 with its first 13 hex digits replaced by the millisecond time
-- and the version 7 (v4's variant bits kept). Included with \ir by the seeds that need it.
CREATE FUNCTION pg_temp.uuid7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT overlay(replace(gen_random_uuid()::text, '-', '')
                 PLACING lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7'
                 FROM 1 FOR 13)::uuid
$$;
