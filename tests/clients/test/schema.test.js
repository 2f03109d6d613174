// graphql-inspector: every document the client tests send validates against the
// checked-in ../../schema.graphql (within the server's depth and alias limits), and the
// running server's introspection is that same schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Source, buildClientSchema, buildSchema, getIntrospectionQuery, parse } from 'graphql';
import { diff, validate } from '@graphql-inspector/core';
import { INVALID_SUBSCRIPTION, VALID_DOCUMENTS } from './operations.js';
import { HTTP_URL, gql, token } from './lib.js';

const require = createRequire(import.meta.url);
const schemaPath = fileURLToPath(new URL('../../../schema.graphql', import.meta.url));
const schema = buildSchema(readFileSync(schemaPath, 'utf8'));

// The server's defaults (README: COSELL_MAX_QUERY_DEPTH 16, COSELL_MAX_ALIASES 30). The
// server counts the leaf field as a level, graphql-inspector does not: 16 there is 15 here
// (the last test checks that the two agree on where the limit is).
const LIMITS = { maxDepth: 15, maxAliasCount: 30 };

/** The operation texts Relay sends, from the compiler's artifacts. */
function relayDocuments() {
  return Object.fromEntries(
    ['CosellRelayOpportunitiesQuery', 'CosellRelayOpportunityRefetchQuery'].map((name) => [
      `relay/${name}`,
      require(`../relay/__generated__/${name}.graphql.js`).params.text,
    ]),
  );
}

// Each document on its own: Relay's printed operations each carry their fragments.
function problems(documents, options = LIMITS) {
  const sources = Object.entries(documents).map(([name, text]) => new Source(text, name));
  return sources.flatMap((source) => validate(schema, [source], options)).map((invalid) => ({
    document: invalid.source.name,
    errors: invalid.errors.map((e) => e.message),
    deprecated: invalid.deprecated.map((e) => e.message),
  }));
}

test('graphql-inspector: every client document validates against schema.graphql', () => {
  const documents = { ...VALID_DOCUMENTS, ...relayDocuments() };
  assert.ok(Object.keys(documents).length >= 8);
  for (const [name, text] of Object.entries(documents)) {
    const operations = parse(text).definitions.filter((d) => d.kind === 'OperationDefinition');
    assert.equal(operations.length, 1, `${name} has one operation`);
    assert.ok(operations[0].name?.value, `${name}'s operation has a name`);
  }
  assert.deepEqual(problems(documents), []);
});

/** viewer.organization, then `levels` times solutions.publisher, then id. */
const nested = (levels) =>
  `query Deep { viewer { organization { ${'solutions { publisher { '.repeat(levels)}id${' } }'.repeat(levels)} } } }`;

test('graphql-inspector: it does catch a broken document', () => {
  const found = problems({ INVALID_SUBSCRIPTION });
  assert.equal(found.length, 1);
  assert.match(found[0].errors.join('\n'), /noSuchField/);
});

test('graphql-inspector: its depth limit is where the server refuses', async () => {
  assert.deepEqual(problems({ ok: nested(6) }), []);
  assert.match(problems({ deep: nested(7) })[0]?.errors.join('\n') ?? '', /maximum depth/);

  const post = async (query) => {
    const res = await fetch(HTTP_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token('anna')}` },
      body: JSON.stringify({ query }),
    });
    return res.json();
  };
  const accepted = await post(nested(6));
  assert.equal(accepted.errors, undefined, JSON.stringify(accepted.errors));
  const refused = await post(nested(7));
  assert.equal(refused.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX', JSON.stringify(refused));
});

test('graphql-inspector: the running server serves exactly schema.graphql', async () => {
  const introspection = await gql(token('anna'), getIntrospectionQuery());
  const served = buildClientSchema(introspection);
  const changes = await diff(schema, served);
  assert.deepEqual(
    changes.map((c) => `${c.criticality.level}: ${c.message}`),
    [],
    'schema.graphql is out of date: regenerate it with `cargo run -- schema > schema.graphql`',
  );
});
