//! Gives every error that async-graphql raises by itself an `extensions.code`: parse
//! failures, validation failures, limits, and input coercion during execution. It is not
//! an async-graphql extension: any extension sends every field of every response down
//! async-graphql's slow path (a resolve hook per field), so the document is parsed and
//! screened before execution, and the response coded after it.
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response, ServerError};

use crate::error::ErrorCode;

/// The document limits enforced right after parsing.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub max_aliases: usize,
    pub max_root_fields: usize,
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(i) => count_aliases(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Aliases in the whole document, and the largest root selection of an operation.
fn shape(doc: &ExecutableDocument) -> (usize, usize) {
    let mut aliases: usize = doc
        .fragments
        .values()
        .map(|f| count_aliases(&f.node.selection_set.node))
        .sum();
    let mut root = 0;
    for (_, op) in doc.operations.iter() {
        aliases += count_aliases(&op.node.selection_set.node);
        root = root.max(op.node.selection_set.node.items.len());
    }
    (aliases, root)
}

fn has_code(e: &ServerError) -> bool {
    e.extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some())
}

fn set_code(e: &mut ServerError, code: ErrorCode) {
    if !has_code(e) {
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

impl Screen {
    /// Parses the request's document (async-graphql executes the parsed one) and refuses
    /// a document that does not parse, or an alias flood or a wide root, before
    /// validation costs anything. `Some` is the refusal to answer with.
    pub fn check(&self, req: &mut Request) -> Option<Response> {
        let doc = match req.parsed_query() {
            Ok(doc) => doc,
            Err(mut e) => {
                set_code(&mut e, ErrorCode::GraphqlParseFailed);
                return Some(Response::from_errors(vec![e]));
            }
        };
        let (aliases, root) = shape(doc);
        if aliases > self.max_aliases || root > self.max_root_fields {
            let mut e = ServerError::new(
                format!(
                    "the query has {aliases} aliases and {root} root fields; at most {} and {} are allowed",
                    self.max_aliases, self.max_root_fields
                ),
                None,
            );
            set_code(&mut e, ErrorCode::QueryTooComplex);
            return Some(Response::from_errors(vec![e]));
        }
        None
    }
}

/// Codes what is still uncoded: validation failures (limits among them) and what
/// async-graphql raised while coercing inputs (variables, argument validators); our
/// resolvers always code their errors. Counts every error by code.
pub fn code_errors(resp: &mut Response) {
    for e in &mut resp.errors {
        let limit = e.message.contains("too complex") || e.message.contains("too deep");
        set_code(
            e,
            if limit {
                ErrorCode::QueryTooComplex
            } else {
                ErrorCode::GraphqlValidationFailed
            },
        );
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|c| c.to_string().trim_matches('"').to_owned())
            .unwrap_or_default();
        metrics::counter!("cosell_graphql_errors_total", "code" => code).increment(1);
    }
}
