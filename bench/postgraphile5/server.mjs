// PostGraphile 5 for bench/run, same database and authorization as PostGraphile 4:
// version 5 has no JWT handling of its own, so the token is verified here (HS256, the
// secret cosell uses) and its claims become `jwt.claims.*` settings with the role
// `cosell_bench_reader`, whose row-level-security policies do the filtering.
// Env: DATABASE_URL, PORT, JWT_SECRET. Needs Node 22 (the npm package `node`).
import { createServer } from "node:http";
import jwt from "jsonwebtoken";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const secret = process.env.JWT_SECRET;
const preset = {
  extends: [PostGraphileAmberPreset],
  // Version 5 offers orderBy only on indexed columns; version 4 and cosell order teams
  // by position and invitations by sending time, which have no index of their own.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] })],
  grafserv: { graphqlPath: "/graphql", watch: false, graphiql: false },
  grafast: {
    explain: false,
    context(requestContext) {
      const pgSettings = { role: "cosell_bench_reader" };
      const auth = requestContext.node?.req?.headers?.authorization ?? "";
      const m = /^Bearer (.+)$/.exec(auth);
      if (m) {
        const claims = jwt.verify(m[1], secret, { algorithms: ["HS256"] });
        for (const [k, v] of Object.entries(claims)) {
          pgSettings[`jwt.claims.${k}`] = String(v);
        }
      }
      return { pgSettings };
    },
  },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.once("listening", () => console.log(`PostGraphile 5 listening on ${process.env.PORT}`));
serv.addTo(server).then(() => server.listen(Number(process.env.PORT || 5001), "127.0.0.1"));
