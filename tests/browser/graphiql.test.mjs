// GraphiQL as served by cosell, in a real headless Chromium (Debian's package) driven by
// playwright-core. Started by run.sh, which runs the server and passes:
//   COSELL_URL    http://127.0.0.1:PORT (the server under test)
//   COSELL_TOKEN  Anna Admin's token (anna@contoso.example)
//   CHROMIUM      the browser binary (default /usr/bin/chromium)
//   ARTIFACTS     where the screenshot goes (default ./artifacts)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = requiredEnv('COSELL_URL').replace(/\/+$/, '');
const TOKEN = requiredEnv('COSELL_TOKEN');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.ARTIFACTS || join(here, 'artifacts');
const ORIGIN = new URL(BASE);
const TIMEOUT = 20_000;

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
  return value;
}

// One browser, one page, shared by the steps below, which run in order.
let userDataDir;
let context;
let page;
const requests = []; // every request the page made: { url, method, resourceType }
const sockets = []; // every WebSocket the page opened
const wsFramesSent = [];
const pageErrors = [];
const consoleMessages = [];

// Same host and port as the server; http(s) and ws(s) alike.
function isLocal(url) {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:') return true; // never leaves the page
  return u.hostname === ORIGIN.hostname && u.port === ORIGIN.port;
}

async function graphql(query, variables) {
  const res = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
      Authorization: `Bearer ${TOKEN}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `POST /graphql: ${res.status} ${JSON.stringify(body)}`);
  assert.equal(body.errors, undefined, `POST /graphql errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

// GraphiQL 4 uses CodeMirror 5: the editors' CodeMirror instances hold the text (the DOM
// only renders the visible lines).
// GraphiQL parses the editor's text 100 ms after a change (debounced) and the run button
// takes the operation type from that parse: clicked sooner, it would send a subscription
// over HTTP as if it were the previous query. So wait for the parse of the new text.
async function setQuery(text, operation) {
  await page.evaluate((value) => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    cm.setValue(value);
  }, text);
  await page.waitForFunction(
    ([value, op]) => {
      const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
      const doc = cm.documentAST;
      return !!doc && (!doc.loc || doc.loc.source.body === value) &&
        Array.isArray(cm.operations) && cm.operations.length === 1 && cm.operations[0].operation === op;
    },
    [text, operation],
    { polling: 50 },
  );
}

async function responseText() {
  return page.evaluate(() => {
    const el = document.querySelector('.graphiql-response .CodeMirror');
    return el && el.CodeMirror ? el.CodeMirror.getValue() : '';
  });
}

async function waitForResponse(needle, timeout = TIMEOUT) {
  try {
    await page.waitForFunction(
      (n) => {
        const el = document.querySelector('.graphiql-response .CodeMirror');
        return !!el && !!el.CodeMirror && el.CodeMirror.getValue().includes(n);
      },
      needle,
      { timeout, polling: 100 },
    );
  } catch (e) {
    throw new Error(`result pane never showed ${JSON.stringify(needle)}; it shows:\n${await responseText()}\n(${e.message.split('\n')[0]})`);
  }
}

async function clickRun() {
  await page.locator('.graphiql-execute-button').click();
}

describe('GraphiQL served by cosell in headless Chromium', () => {
  before(async () => {
    userDataDir = mkdtempSync(join(tmpdir(), 'cosell-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      // playwright-core adds its own defaults; these are the ones this test relies on.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 900 },
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(TIMEOUT);
    page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), resourceType: r.resourceType() }));
    page.on('websocket', (ws) => {
      sockets.push(ws.url());
      ws.on('framesent', (f) => wsFramesSent.push(typeof f.payload === 'string' ? f.payload : f.payload.toString()));
    });
    page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
    page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
  });

  after(async () => {
    if (consoleMessages.length) console.log(`browser console:\n  ${consoleMessages.join('\n  ')}`);
    console.log(`requests made by the page (${requests.length}):\n  ${requests.map((r) => `${r.method} ${r.url.replace(/token=[^&#]*/, 'token=…')} [${r.resourceType}]`).join('\n  ')}`);
    console.log(`WebSockets opened by the page: ${sockets.join(', ') || 'none'}`);
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('loads from the server alone and takes the token out of the address bar', async () => {
    const response = await page.goto(`${BASE}/graphql#token=${TOKEN}`, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-type'] ?? '', /text\/html/);
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor();
    await page.locator('.graphiql-execute-button').waitFor();
    assert.equal(await page.locator('#graphiql-error').count(), 0, 'page says its assets failed to load');

    // The fragment is gone from the address bar.
    const href = await page.evaluate(() => location.href);
    assert.equal(href, `${BASE}/graphql`);
    assert.equal(page.url(), `${BASE}/graphql`);
    assert.ok(!href.includes(TOKEN));

    // Let GraphiQL finish its start-up requests (schema introspection) before judging them.
    await page.waitForLoadState('networkidle');
    assert.ok(requests.length >= 5, `only ${requests.length} requests recorded`);
    const scripts = requests.filter((r) => r.resourceType === 'script').map((r) => new URL(r.url).pathname);
    for (const asset of ['react.production.min.js', 'react-dom.production.min.js', 'graphql-ws.min.js', 'graphiql.min.js']) {
      assert.ok(scripts.includes(`/graphql/assets/${asset}`), `no request for ${asset}: ${scripts}`);
    }
    const foreign = requests.filter((r) => !isLocal(r.url));
    assert.deepEqual(foreign, [], 'requests to anywhere but the server');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  });

  it('runs a query with the token from the link', async () => {
    await setQuery('{ viewer { user { email } } }', 'query');
    await clickRun();
    await waitForResponse('anna@contoso.example');
    const result = JSON.parse(await responseText());
    assert.deepEqual(result, { data: { viewer: { user: { email: 'anna@contoso.example' } } } });
  });

  it('runs a subscription over /graphql/ws that shows a change made over HTTP', async () => {
    const deal = await graphql('{ opportunities(view: OUTBOUND, first: 1) { nodes { id } } }');
    assert.equal(deal.opportunities.nodes.length, 1, 'Anna has no outbound opportunity');
    const id = deal.opportunities.nodes[0].id;

    const framesBefore = wsFramesSent.length;
    await setQuery('subscription { events(filter: {kinds: [DEAL_UPDATED]}) { kind cursor } }', 'subscription');
    await clickRun();
    // The subscribe message has left the browser...
    const deadline = Date.now() + TIMEOUT;
    while (!wsFramesSent.slice(framesBefore).some((f) => f.includes('"subscribe"'))) {
      assert.ok(Date.now() < deadline, `no subscribe message sent; frames: ${wsFramesSent.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // ...but the protocol does not acknowledge it: the server may not have registered it yet
    // when the first change is made. So change the deal again (new notes each time) until
    // the event arrives; the first attempt nearly always suffices.
    const mutation = 'mutation($id: ID!, $notes: String) { updateOpportunity(input: {opportunityId: $id, notes: $notes}) { userErrors { code } } }';
    let seen = false;
    for (let attempt = 1; attempt <= 5 && !seen; attempt++) {
      const notes = attempt === 1 ? 'from browser test' : `from browser test (${attempt})`;
      const data = await graphql(mutation, { id, notes });
      assert.deepEqual(data.updateOpportunity.userErrors, [], 'updateOpportunity refused');
      try {
        await waitForResponse('DEAL_UPDATED', 4_000);
        seen = true;
        console.log(`DEAL_UPDATED shown after change #${attempt}`);
      } catch (e) {
        if (attempt === 5) throw e;
      }
    }
    const event = JSON.parse(await responseText());
    assert.equal(event.data.events.kind, 'DEAL_UPDATED');
    assert.equal(typeof event.data.events.cursor, 'string');
    assert.ok(sockets.some((u) => u === `ws://${ORIGIN.host}/graphql/ws`), `sockets: ${sockets}`);
    // The token from the link went into connection_init, not into the URL.
    const init = wsFramesSent.map((f) => JSON.parse(f)).find((m) => m.type === 'connection_init');
    assert.deepEqual(init?.payload, { Authorization: `Bearer ${TOKEN}` });
    assert.ok(sockets.every((u) => !u.includes(TOKEN)), 'token in a WebSocket URL');

    // Still nothing but the server after the query and the subscription.
    assert.deepEqual(requests.filter((r) => !isLocal(r.url)), [], 'requests to anywhere but the server');
    assert.deepEqual(sockets.filter((u) => !isLocal(u)), [], 'WebSockets to anywhere but the server');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  });

  it('renders (screenshot for a person to look at)', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'graphiql.png');
    await page.screenshot({ path: file });
    console.log(`screenshot: ${file}`);
    // The layout is really there: editors and the result pane take up space.
    for (const sel of ['.graphiql-query-editor', '.graphiql-response']) {
      const box = await page.locator(sel).boundingBox();
      assert.ok(box && box.width > 200 && box.height > 200, `${sel} is ${JSON.stringify(box)}`);
    }
  });
});
