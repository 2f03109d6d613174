// Apollo Client (core, no React) as a front end would set it up: HttpLink for queries
// and mutations, GraphQLWsLink (graphql-ws) for subscriptions, chosen with split().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CREATE_CUSTOMER, DEAL_UPDATED_EVENTS, UPDATE_NOTES, VIEWER } from './operations.js';
import { HTTP_URL, WS_URL, Inbox, firstOutboundId, token } from './lib.js';

const FRANK = token('frank');

function apollo(tokenValue) {
  const wsClient = createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${tokenValue}` },
    retryAttempts: 0,
  });
  const httpLink = new HttpLink({ uri: HTTP_URL, headers: { authorization: `Bearer ${tokenValue}` } });
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(wsClient),
    httpLink,
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return { client, wsClient };
}

test('Apollo Client: query, mutation with userErrors, subscription', async (t) => {
  const { client, wsClient } = apollo(FRANK);
  try {
    await t.test('query viewer', async () => {
      const { data, error } = await client.query({ query: gql(VIEWER) });
      assert.equal(error, undefined);
      assert.equal(data.viewer.user.name, 'Frank Admin');
      assert.equal(data.viewer.user.email, 'frank@fabrikam.example');
      assert.equal(data.viewer.organization.name, 'Fabrikam Solutions');
      assert.equal(data.viewer.organization.kind, 'PARTNER');
      assert.ok(data.viewer.roles.includes('REFERRAL_ADMIN'));
      // Normalized by __typename + id (Apollo adds __typename to every selection).
      const cached = client.cache.extract();
      assert.ok(cached[`User:${data.viewer.user.id}`], 'the user is normalized in the cache');
    });

    await t.test('mutation createCustomer with a bad D-U-N-S number: userErrors', async () => {
      const { data, error } = await client.mutate({
        mutation: gql(CREATE_CUSTOMER),
        variables: {
          input: {
            name: 'Apollo Client Test GmbH',
            addressLine1: 'Teststraße 1',
            city: 'Berlin',
            country: 'DE',
            duns: '12-34',
          },
        },
      });
      assert.equal(error, undefined, 'a user error is data, not a GraphQL error');
      assert.equal(data.createCustomer.customer, null);
      const duns = data.createCustomer.userErrors.find((e) => e.field.join('.') === 'input.duns');
      assert.ok(duns, `a userError on ["input","duns"]: ${JSON.stringify(data.createCustomer.userErrors)}`);
      assert.equal(duns.code, 'BAD_USER_INPUT');
      assert.deepEqual(duns.field, ['input', 'duns']);
      assert.ok(duns.message.length > 0);
    });

    await t.test('subscription over GraphQLWsLink receives the event of a mutation', async () => {
      const id = await firstOutboundId(FRANK);
      const inbox = new Inbox();
      const subscription = client.subscribe({ query: gql(DEAL_UPDATED_EVENTS) }).subscribe({
        next: (result) => {
          if (result.error) inbox.fail(result.error);
          else inbox.push(result.data.events);
        },
        error: inbox.fail,
        complete: inbox.done,
      });
      try {
        // The change itself also goes through Apollo (HttpLink).
        let changes = 0;
        const touch = async () => {
          changes += 1;
          const { data } = await client.mutate({
            mutation: gql(UPDATE_NOTES),
            variables: { id, notes: `Apollo Client change ${changes}` },
          });
          assert.deepEqual(data.updateOpportunity.userErrors, []);
          assert.equal(data.updateOpportunity.opportunity.notes, `Apollo Client change ${changes}`);
        };
        let event = null;
        for (let attempt = 0; attempt < 20 && !event; attempt++) {
          await touch();
          event = await inbox.next(attempt < 2 ? 500 : 1500);
        }
        assert.ok(event, 'an event arrived');
        assert.equal(event.__typename, 'Event');
        assert.equal(event.kind, 'DEAL_UPDATED');
        assert.equal(event.opportunityId, id);
        assert.match(event.cursor, /^\d+$/);
        // The mutation's result updated the normalized opportunity in Apollo's cache.
        const cached = client.cache.extract()[`Opportunity:${id}`];
        assert.equal(cached?.notes, `Apollo Client change ${changes}`);
      } finally {
        subscription.unsubscribe();
      }
    });
  } finally {
    client.stop();
    await wsClient.dispose();
  }
});
