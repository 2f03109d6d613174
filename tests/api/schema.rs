//! `schema.graphql` is generated from the code (`cosell schema`) and must not drift.

#[test]
fn schema_graphql_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("schema.graphql exists");
    let generated = cosell::graphql::sdl();
    assert!(
        checked_in == generated,
        "schema.graphql differs from the code's schema; regenerate it with \
         `cargo run -- schema > schema.graphql`"
    );
}
