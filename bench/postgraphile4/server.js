// PostGraphile 4 for bench/run: the bench database's `public` schema, read-only use.
// Authorization: PostGraphile's own JWT handling verifies the same HS256 token cosell
// takes (same secret), puts its claims into `jwt.claims.*` and switches to the role
// `cosell_bench_reader`, whose row-level-security policies (bench/sql/postgraphile.sql)
// restrict rows to the organization of the token's user.
// Env: DATABASE_URL, PORT, JWT_SECRET.
const http = require("http");
const { postgraphile } = require("postgraphile");

const handler = postgraphile(process.env.DATABASE_URL, "public", {
  jwtSecret: process.env.JWT_SECRET,
  // cosell's tokens carry no `aud`; PostGraphile 4 would require "postgraphile".
  jwtVerifyOptions: { audience: [], algorithms: ["HS256"] },
  pgDefaultRole: "cosell_bench_reader",
  graphiql: false,
  watchPg: false,
  disableQueryLog: true,
  retryOnInitFail: false,
  setofFunctionsContainNulls: false,
  ignoreRBAC: false,
  enableQueryBatching: false,
  extendedErrors: ["errcode"],
});

http.createServer(handler).listen(Number(process.env.PORT || 5000), "127.0.0.1", () => {
  console.log(`PostGraphile 4 listening on ${process.env.PORT}`);
});
