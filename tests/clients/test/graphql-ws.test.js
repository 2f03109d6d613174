// The reference graphql-transport-ws client (`graphql-ws` over `ws`) against
// /graphql/ws: the token in connection_init, live events, and a reconnect with
// `after: <cursor>` that delivers exactly the events missed while away, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { DEAL_UPDATED_EVENTS, INVALID_SUBSCRIPTION, TIMELINE } from './operations.js';
import {
  WS_URL,
  Inbox,
  cursorAfter,
  firstLiveEvent,
  firstOutboundId,
  gql,
  sleep,
  token,
  touchNotes,
  withTimeout,
} from './lib.js';

const ANNA = token('anna');

function connect(tokenValue) {
  const opened = { count: 0 };
  const client = createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${tokenValue}` },
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => (opened.count += 1) },
  });
  return { client, opened };
}

/** Subscribes and returns an Inbox of the `events` payloads, plus its unsubscribe. */
function subscribeEvents(client, variables) {
  const inbox = new Inbox();
  const unsubscribe = client.subscribe(
    { query: DEAL_UPDATED_EVENTS, variables },
    {
      next: (result) => {
        if (result.errors) inbox.fail(new Error(JSON.stringify(result.errors)));
        else inbox.push(result.data.events);
      },
      error: inbox.fail,
      complete: inbox.done,
    },
  );
  return { inbox, unsubscribe };
}

/** The DEAL_UPDATED events of the opportunity's engagement, oldest first. */
async function dealUpdatedCursors(id) {
  const data = await gql(ANNA, TIMELINE, { id });
  return data.opportunity.timeline.nodes
    .filter((e) => e.kind === 'DEAL_UPDATED')
    .map((e) => e.cursor)
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
}

test('graphql-ws: live events, then a resumed subscription gets exactly the missed ones', async (t) => {
  const id = await firstOutboundId(ANNA);

  // 1. Live: subscribe, change the notes over HTTP, the event arrives.
  const first = connect(ANNA);
  const live = subscribeEvents(first.client, { after: null });
  const e1 = await firstLiveEvent(live.inbox, ANNA, id, 'graphql-ws live');
  assert.equal(e1.kind, 'DEAL_UPDATED');
  assert.equal(e1.opportunityId, id);
  assert.match(e1.cursor, /^\d+$/);

  await touchNotes(ANNA, id, 'graphql-ws live 2');
  const e2 = await live.inbox.expect(5000, 'the second live event');
  assert.equal(e2.kind, 'DEAL_UPDATED');
  assert.equal(e2.opportunityId, id);
  assert.ok(cursorAfter(e2.cursor, e1.cursor), `cursors increase: ${e1.cursor} < ${e2.cursor}`);
  assert.equal(await live.inbox.next(300), null, 'no further live event');
  assert.equal(first.opened.count, 1);
  live.unsubscribe();
  await first.client.dispose();
  const lastSeen = e2.cursor;

  // 2. While disconnected, three more changes happen.
  for (let i = 1; i <= 3; i++) await touchNotes(ANNA, id, `graphql-ws missed ${i}`);
  const missed = (await dealUpdatedCursors(id)).filter((c) => cursorAfter(c, lastSeen));
  assert.equal(missed.length, 3, `three events after ${lastSeen} in the timeline: ${missed}`);

  // 3. Reconnect after the last event seen: exactly the missed events, in order ...
  const second = connect(ANNA);
  const resumed = subscribeEvents(second.client, { after: lastSeen });
  const replayed = [];
  for (let i = 0; i < missed.length; i++) {
    const e = await resumed.inbox.expect(5000, `missed event ${i + 1} of ${missed.length}`);
    assert.equal(e.kind, 'DEAL_UPDATED');
    assert.equal(e.opportunityId, id);
    replayed.push(e.cursor);
  }
  assert.deepEqual(replayed, missed);
  assert.equal(await resumed.inbox.next(500), null, 'nothing but the missed events');

  // ... then live events again, with no gap and no repeat.
  await touchNotes(ANNA, id, 'graphql-ws after resume');
  const e3 = await resumed.inbox.expect(5000, 'the live event after the replay');
  assert.ok(cursorAfter(e3.cursor, missed.at(-1)));
  assert.equal(e3.opportunityId, id);
  assert.equal(await resumed.inbox.next(300), null);

  // 4. Resuming from an earlier cursor replays from there (e1: e2, the missed, e3).
  const third = subscribeEvents(second.client, { after: e1.cursor });
  const expected = [e2.cursor, ...missed, e3.cursor];
  const again = [];
  for (let i = 0; i < expected.length; i++) {
    again.push((await third.inbox.expect(5000, `replayed event ${i + 1}`)).cursor);
  }
  assert.deepEqual(again, expected);
  assert.equal(await third.inbox.next(300), null);

  resumed.unsubscribe();
  third.unsubscribe();
  await second.client.dispose();
});

test('graphql-ws: a validation error is an error for that subscription, the socket stays up', async () => {
  const id = await firstOutboundId(ANNA);
  const { client, opened } = connect(ANNA);
  try {
    const bad = new Inbox();
    client.subscribe({ query: INVALID_SUBSCRIPTION }, { next: bad.push, error: bad.fail, complete: bad.done });
    const error = await withTimeout(
      bad.next(5000).then(
        () => null,
        (e) => e,
      ),
      6000,
      'the error message',
    );
    assert.ok(error, 'the invalid subscription fails');
    // graphql-ws hands the `error` message's payload (GraphQL errors) to sink.error.
    const errors = Array.isArray(error) ? error : JSON.parse(error.message);
    assert.ok(errors.length >= 1);
    assert.match(errors[0].message, /noSuchField/);

    // The same socket still serves a valid subscription.
    const good = subscribeEvents(client, {});
    const e = await firstLiveEvent(good.inbox, ANNA, id, 'graphql-ws after error');
    assert.equal(e.opportunityId, id);
    assert.equal(opened.count, 1, 'one connection throughout');
    good.unsubscribe();
  } finally {
    await client.dispose();
  }
  await sleep(10);
});
