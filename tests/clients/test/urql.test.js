// urql (@urql/core) with its default exchanges and subscriptionExchange over graphql-ws.
// urql sends queries as GET /graphql?query=... when the URL is short enough (its
// default), so this also exercises the GET side; mutations go by POST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CREATE_CUSTOMER, DEAL_UPDATED_EVENTS, UPDATE_NOTES, VIEWER } from './operations.js';
import { HTTP_URL, WS_URL, Inbox, firstOutboundId, token } from './lib.js';

const NADIA = token('nadia');

function urql(tokenValue) {
  const wsClient = createWsClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${tokenValue}` },
    retryAttempts: 0,
  });
  const requests = [];
  const client = new Client({
    url: HTTP_URL,
    // Record the HTTP method of each request, then use the platform fetch.
    fetch: (url, init) => {
      requests.push({ method: init?.method ?? 'GET', url: String(url) });
      return fetch(url, init);
    },
    fetchOptions: () => ({ headers: { authorization: `Bearer ${tokenValue}` } }),
    requestPolicy: 'network-only',
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = wsClient.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, wsClient, requests };
}

test('urql: query, mutation with userErrors, subscription', async (t) => {
  const { client, wsClient, requests } = urql(NADIA);
  try {
    await t.test('query viewer (GET)', async () => {
      const result = await client.query(VIEWER, {}).toPromise();
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.data.viewer.user.name, 'Nadia Admin');
      assert.equal(result.data.viewer.organization.name, 'Northwind Traders');
      assert.ok(result.data.viewer.roles.includes('REFERRAL_ADMIN'));
      const last = requests.at(-1);
      assert.equal(last.method, 'GET', 'urql sent the query as GET');
      assert.match(last.url, /\/graphql\?.*query=/);
    });

    await t.test('mutation createCustomer with a bad D-U-N-S number: userErrors (POST)', async () => {
      const result = await client
        .mutation(CREATE_CUSTOMER, {
          input: {
            name: 'urql Test Ltd',
            addressLine1: '1 Test Street',
            city: 'London',
            country: 'GB',
            duns: 'not-a-duns',
          },
        })
        .toPromise();
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.data.createCustomer.customer, null);
      const errors = result.data.createCustomer.userErrors;
      const duns = errors.find((e) => e.field.join('.') === 'input.duns');
      assert.ok(duns, `a userError on ["input","duns"]: ${JSON.stringify(errors)}`);
      assert.equal(duns.code, 'BAD_USER_INPUT');
      assert.deepEqual(duns.field, ['input', 'duns']);
      assert.equal(requests.at(-1).method, 'POST');
    });

    await t.test('subscription over graphql-ws receives the event of a mutation', async () => {
      const id = await firstOutboundId(NADIA);
      const inbox = new Inbox();
      const { unsubscribe } = client.subscription(DEAL_UPDATED_EVENTS, {}).subscribe((result) => {
        if (result.error) inbox.fail(result.error);
        else inbox.push(result.data.events);
      });
      try {
        let changes = 0;
        const touch = async () => {
          changes += 1;
          const result = await client
            .mutation(UPDATE_NOTES, { id, notes: `urql change ${changes}` })
            .toPromise();
          assert.equal(result.error, undefined, String(result.error));
          assert.deepEqual(result.data.updateOpportunity.userErrors, []);
        };
        let event = null;
        for (let attempt = 0; attempt < 20 && !event; attempt++) {
          await touch();
          event = await inbox.next(attempt < 2 ? 500 : 1500);
        }
        assert.ok(event, 'an event arrived');
        assert.equal(event.kind, 'DEAL_UPDATED');
        assert.equal(event.opportunityId, id);
        assert.match(event.cursor, /^\d+$/);
      } finally {
        unsubscribe();
      }
    });
  } finally {
    await wsClient.dispose();
  }
});
