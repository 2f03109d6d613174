// Every GraphQL document the client tests send (except Relay's, which relay-compiler
// compiles from relay/ into relay/__generated__). schema.test.js validates all of them
// against ../../schema.graphql, so a schema change that breaks a client fails there first.

export const VIEWER = /* GraphQL */ `
  query ClientViewer {
    viewer {
      user { id name email }
      roles
      organization { id name kind }
    }
  }
`;

export const FIRST_OUTBOUND = /* GraphQL */ `
  query ClientFirstOutbound {
    opportunities(view: OUTBOUND, first: 1) {
      nodes { id dealName stage version }
    }
  }
`;

export const UPDATE_NOTES = /* GraphQL */ `
  mutation ClientUpdateNotes($id: ID!, $notes: String!) {
    updateOpportunity(input: { opportunityId: $id, notes: $notes }) {
      opportunity { id notes version }
      userErrors { code message field }
    }
  }
`;

export const CREATE_CUSTOMER = /* GraphQL */ `
  mutation ClientCreateCustomer($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      customer { id name duns }
      userErrors { code message field }
    }
  }
`;

export const DEAL_UPDATED_EVENTS = /* GraphQL */ `
  subscription ClientDealUpdated($after: String) {
    events(after: $after, filter: { kinds: [DEAL_UPDATED] }) {
      cursor
      kind
      opportunityId
    }
  }
`;

export const TIMELINE = /* GraphQL */ `
  query ClientTimeline($id: ID!) {
    opportunity(id: $id) {
      id
      timeline(first: 100) {
        nodes { cursor kind opportunityId }
      }
    }
  }
`;

// Only for the graphql-ws test: a subscription the server must refuse with an `error`
// message for its id while the socket stays up. Not part of the schema validation.
export const INVALID_SUBSCRIPTION = /* GraphQL */ `
  subscription ClientInvalid {
    events { noSuchField }
  }
`;

/** The documents that must validate against the schema, by name. */
export const VALID_DOCUMENTS = {
  VIEWER,
  FIRST_OUTBOUND,
  UPDATE_NOTES,
  CREATE_CUSTOMER,
  DEAL_UPDATED_EVENTS,
  TIMELINE,
};
