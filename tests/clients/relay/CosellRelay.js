// The Relay operations of test/relay.test.js. relay-compiler (run by run.sh, config in
// ../relay.config.json) compiles them against ../../../schema.graphql into
// __generated__/; the test runs those artifacts. This file itself is never executed
// (without babel-plugin-relay the `graphql` tag throws at run time).
const { graphql } = require('relay-runtime');

// The fields a list row and a detail view share. @refetchable makes the compiler
// generate CosellRelayOpportunityRefetchQuery through `node(id:)`, which requires the
// schema's Node interface and the Query.node field.
graphql`
  fragment CosellRelay_opportunity on Opportunity
  @refetchable(queryName: "CosellRelayOpportunityRefetchQuery") {
    id
    dealName
    stage
    customer {
      id
      name
    }
  }
`;

// A connection as Relay pages it: edges, node, cursor and pageInfo (the compiler adds
// the last two for @connection).
graphql`
  query CosellRelayOpportunitiesQuery($first: Int!, $after: String) {
    opportunities(view: OUTBOUND, first: $first, after: $after)
      @connection(key: "CosellRelay_opportunities") {
      totalCount
      edges {
        node {
          id
          ...CosellRelay_opportunity
        }
      }
    }
  }
`;
