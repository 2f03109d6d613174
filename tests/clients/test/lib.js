// Shared helpers: the server address and demo tokens run.sh exported, a plain HTTP
// GraphQL call for test set-up, and waiting for subscription events with a deadline.
import assert from 'node:assert/strict';
import { FIRST_OUTBOUND, UPDATE_NOTES } from './operations.js';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the tests through tests/clients/run.sh`);
  }
  return value;
}

/** http://127.0.0.1:PORT */
export const BASE_URL = required('COSELL_URL').replace(/\/+$/, '');
export const HTTP_URL = `${BASE_URL}/graphql`;
export const WS_URL = process.env.COSELL_WS_URL || `${BASE_URL.replace(/^http/, 'ws')}/graphql/ws`;

/** The demo token of a user by first name: token('anna') reads TOKEN_ANNA. */
export function token(firstName) {
  return required(`TOKEN_${firstName.toUpperCase()}`);
}

/** One GraphQL request over HTTP POST; returns `data`, fails on any top-level error. */
export async function gql(tokenValue, query, variables = {}) {
  const res = await fetch(HTTP_URL, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${tokenValue}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `HTTP ${res.status}: ${text}`);
  const body = JSON.parse(text);
  assert.equal(body.errors, undefined, `GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The id of the viewer's first outbound (originated, accepted) opportunity. */
export async function firstOutboundId(tokenValue) {
  const data = await gql(tokenValue, FIRST_OUTBOUND);
  const [first] = data.opportunities.nodes;
  assert.ok(first, 'the demo user has an outbound opportunity');
  assert.equal(first.stage, 'ACCEPTED');
  return first.id;
}

let noteCounter = 0;

/** Changes an opportunity's notes over HTTP (one DEAL_UPDATED event); fails on userErrors. */
export async function touchNotes(tokenValue, id, label) {
  noteCounter += 1;
  const notes = `${label} #${noteCounter} at ${new Date().toISOString()}`;
  const data = await gql(tokenValue, UPDATE_NOTES, { id, notes });
  assert.deepEqual(data.updateOpportunity.userErrors, []);
  assert.equal(data.updateOpportunity.opportunity.notes, notes);
  return notes;
}

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Collects the items a subscription delivers (any client: call `push`, `fail`, `done`
 * from its callbacks) and lets a test await them in order with a deadline.
 */
export class Inbox {
  constructor() {
    this.items = [];
    this.error = null;
    this.completed = false;
    this.taken = 0;
    this.waiters = [];
  }

  push = (item) => {
    this.items.push(item);
    this.wake();
  };

  fail = (error) => {
    this.error = error ?? new Error('subscription failed');
    this.wake();
  };

  done = () => {
    this.completed = true;
    this.wake();
  };

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The next item not yet taken, or null when none arrives within `ms`. */
  async next(ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.taken < this.items.length) return this.items[this.taken++];
      if (this.error) throw this.error instanceof Error ? this.error : new Error(JSON.stringify(this.error));
      if (this.completed) throw new Error('the subscription completed');
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Like next() but fails the test when nothing arrives in time. */
  async expect(ms, what) {
    const item = await this.next(ms);
    assert.ok(item, `timed out after ${ms} ms waiting for ${what}`);
    return item;
  }
}

/**
 * A subscription starts asynchronously on the server, and one without `after` only sees
 * events committed after it started. So: change the notes, wait a little for the event,
 * and repeat until one arrives. Returns the latest event delivered (an `Event` object)
 * once no more arrive.
 */
export async function firstLiveEvent(inbox, tokenValue, id, label) {
  for (let attempt = 1; attempt <= 20; attempt++) {
    await touchNotes(tokenValue, id, `${label} (attempt ${attempt})`);
    let item = await inbox.next(attempt < 3 ? 500 : 1500);
    if (item) {
      // An earlier attempt's event may still be on its way: take those too, and
      // return the latest, so the test continues from a quiet subscription.
      for (let later; (later = await inbox.next(300)); ) item = later;
      return item;
    }
  }
  throw new Error(`no event arrived on the subscription after 20 updates (${label})`);
}

/** Compares event cursors (decimal strings of the global sequence number). */
export function cursorAfter(a, b) {
  return BigInt(a) > BigInt(b);
}
