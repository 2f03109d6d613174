// Relay (relay-runtime, no React) with the artifacts relay-compiler generated from
// relay/CosellRelay.js (run.sh runs the compiler first; a compile error fails the run).
// Fetches a connection page, then refetches one item through `node(id:)` with the query
// the compiler generated for the @refetchable fragment: the Node interface and global
// ids are what Relay needs from a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Environment, Network, RecordSource, Store, fetchQuery, getSelector } from 'relay-runtime';
import { HTTP_URL, token } from './lib.js';

const require = createRequire(import.meta.url);
const OpportunitiesQuery = require('../relay/__generated__/CosellRelayOpportunitiesQuery.graphql.js');
const RefetchQuery = require('../relay/__generated__/CosellRelayOpportunityRefetchQuery.graphql.js');
const OpportunityFragment = require('../relay/__generated__/CosellRelay_opportunity.graphql.js');

const ALEX = token('alex');

function environment(tokenValue, sent) {
  const network = Network.create(async (params, variables) => {
    sent.push(params.name);
    const res = await fetch(HTTP_URL, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${tokenValue}`,
      },
      body: JSON.stringify({ query: params.text, variables, operationName: params.name }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body;
  });
  return new Environment({ network, store: new Store(new RecordSource()) });
}

/** Reads a (masked) fragment reference the way useFragment does. */
function readFragment(env, fragmentRef) {
  const snapshot = env.lookup(getSelector(OpportunityFragment, fragmentRef));
  assert.equal(snapshot.isMissingData, false, 'the fragment data is all in the store');
  return snapshot.data;
}

test('Relay: compiled artifacts are in place', () => {
  assert.equal(OpportunitiesQuery.kind, 'Request');
  assert.equal(RefetchQuery.kind, 'Request');
  assert.equal(OpportunityFragment.kind, 'Fragment');
  assert.match(RefetchQuery.params.text, /node\(id: \$id\)/);
  assert.equal(OpportunityFragment.metadata.refetch.operation, RefetchQuery);
  assert.deepEqual(OpportunityFragment.metadata.refetch.identifierInfo?.identifierField, 'id');
});

test('Relay: a connection page, then one item refetched through node(id:)', async () => {
  const sent = [];
  const env = environment(ALEX, sent);

  const list = await fetchQuery(env, OpportunitiesQuery, { first: 5, after: null }).toPromise();
  const { edges, totalCount } = list.opportunities;
  assert.ok(edges.length >= 1 && edges.length <= 5, `1-5 edges, got ${edges.length}`);
  assert.ok(totalCount >= edges.length);
  const rows = edges.map((edge) => readFragment(env, edge.node));
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'ids are unique');
  for (const row of rows) {
    assert.ok(row.dealName.length > 0);
    assert.equal(row.stage, 'ACCEPTED', 'OUTBOUND lists accepted originated deals');
    assert.ok(row.customer.name.length > 0);
  }
  // The connection's pageInfo (the compiler added it for @connection) was stored.
  const connection = env
    .getStore()
    .getSource()
    .getRecordIDs()
    .map((id) => env.getStore().getSource().get(id))
    .find((r) => r.__typename === 'OpportunityConnection');
  assert.ok(connection, 'the connection record is in the store');
  const pageInfo = env.getStore().getSource().get(connection.pageInfo.__ref);
  assert.equal(typeof pageInfo.hasNextPage, 'boolean');
  assert.equal(pageInfo.hasNextPage, totalCount > edges.length);

  // Refetch the last row through node(id:) in a fresh environment (nothing cached) ...
  const target = rows.at(-1);
  const freshSent = [];
  const fresh = environment(ALEX, freshSent);
  const refetched = await fetchQuery(fresh, RefetchQuery, { id: target.id }).toPromise();
  assert.ok(refetched.node, `node(id: "${target.id}") resolves`);
  assert.equal(refetched.node.__id, target.id, 'Relay stored it under its global id');
  assert.deepEqual(readFragment(fresh, refetched.node), target, 'the same id, deal name, stage and customer');
  assert.deepEqual(freshSent, ['CosellRelayOpportunityRefetchQuery']);

  // ... and in the first one: Relay merges it into the record it normalized by id.
  const again = await fetchQuery(env, RefetchQuery, { id: target.id }).toPromise();
  assert.deepEqual(readFragment(env, again.node), target);
  assert.equal(env.getStore().getSource().get(target.id).dealName, target.dealName);
  assert.deepEqual(sent, ['CosellRelayOpportunitiesQuery', 'CosellRelayOpportunityRefetchQuery']);

  // An id of another organization's opportunity, or none at all, is null (not an error).
  const missing = await fetchQuery(fresh, RefetchQuery, {
    id: Buffer.from('Opportunity:00000000-0000-0000-0000-000000000000').toString('base64url'),
  }).toPromise();
  assert.equal(missing.node, null);
});
