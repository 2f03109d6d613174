//! Gives every error that async-graphql raises by itself an `extensions.code`: parse
//! failures, validation failures, limits, and input coercion during execution. It is not
//! an async-graphql extension: any extension sends every field of every response down
//! async-graphql's slow path (a resolve hook per field), so the document is parsed and
//! screened before execution, and the response coded after it.
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Request, Response, ServerError};

use crate::bounded::BoundedMap;
use crate::error::ErrorCode;

/// The document limits enforced right after parsing, and the documents parsed lately.
#[derive(Debug, Clone)]
pub struct Screen {
    pub max_aliases: usize,
    pub max_root_fields: usize,
    pub parsed: Arc<ParseCache>,
}

/// Documents that parsed and passed the limits, by their text: a client sends the same
/// few queries again and again, and a copy of the parsed tree costs a fraction of parsing
/// it anew. Bounded: only short texts are kept, and the whole cache is dropped when full
/// (a flood of distinct queries only ever costs the parse it would cost anyway).
#[derive(Debug)]
pub struct ParseCache {
    docs: BoundedMap<String, ExecutableDocument>,
}

impl Default for ParseCache {
    fn default() -> Self {
        ParseCache {
            docs: BoundedMap::new(Self::MAX_ENTRIES),
        }
    }
}

impl ParseCache {
    /// The most documents kept.
    pub const MAX_ENTRIES: usize = 256;
    /// The longest query text kept, in bytes.
    pub const MAX_QUERY_LEN: usize = 4096;

    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        if query.len() > Self::MAX_QUERY_LEN {
            return None;
        }
        self.docs.get(query)
    }

    fn put(&self, query: &str, doc: ExecutableDocument) {
        if query.len() > Self::MAX_QUERY_LEN {
            return;
        }
        self.docs.put(query.to_owned(), |_| false, || doc);
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
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
        if let Some(doc) = self.parsed.get(&req.query) {
            req.set_parsed_query(doc);
            return None;
        }
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
        let doc = doc.clone();
        self.parsed.put(&req.query, doc);
        None
    }
}

/// Whether the operation the request runs is a mutation (after [`Screen::check`] parsed
/// it; `false` when it names no operation of the document, which execution refuses).
pub fn runs_mutation(req: &mut Request) -> bool {
    let name = req.operation_name.clone();
    let Ok(doc) = req.parsed_query() else {
        return false;
    };
    let op = match (&doc.operations, name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    op.is_some_and(|op| op.node.ty == OperationType::Mutation)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn screen() -> Screen {
        Screen {
            max_aliases: 2,
            max_root_fields: 3,
            parsed: Default::default(),
        }
    }

    /// A query sent again is served from the cache; one the limits refuse is never kept,
    /// so it is refused every time.
    #[test]
    fn a_repeated_query_is_parsed_once_and_a_refused_one_never_kept() {
        let s = screen();
        let mut first = Request::new("{ a b }");
        assert!(s.check(&mut first).is_none());
        assert_eq!(s.parsed.len(), 1);
        let mut again = Request::new("{ a b }");
        assert!(s.check(&mut again).is_none());
        assert_eq!(s.parsed.len(), 1);
        assert!(again.parsed_query().is_ok());

        for _ in 0..2 {
            let mut flood = Request::new("{ x: a y: a z: a }");
            assert!(s.check(&mut flood).is_some(), "three aliases are refused");
        }
        let mut broken = Request::new("{ a ");
        assert!(s.check(&mut broken).is_some());
        assert_eq!(s.parsed.len(), 1);
    }

    /// The cache stays bounded: long texts are not kept, and a full cache starts over.
    #[test]
    fn the_parse_cache_stays_bounded() {
        let s = screen();
        let long = format!("{{ a {} }}", " ".repeat(ParseCache::MAX_QUERY_LEN));
        assert!(s.check(&mut Request::new(long)).is_none());
        assert!(s.parsed.is_empty());
        for i in 0..ParseCache::MAX_ENTRIES + 10 {
            assert!(s.check(&mut Request::new(format!("{{ a{i} }}"))).is_none());
            assert!(s.parsed.len() <= ParseCache::MAX_ENTRIES);
        }
    }

    /// A mutation is told by the operation the request runs, its name chosen among
    /// several; a query, a subscription, an unknown name or a broken text is not one.
    #[test]
    fn a_request_runs_a_mutation_only_when_its_chosen_operation_is_one() {
        let runs = |q: &str, name: Option<&str>| {
            let mut r = Request::new(q);
            if let Some(n) = name {
                r = r.operation_name(n);
            }
            runs_mutation(&mut r)
        };
        assert!(runs("mutation { a }", None));
        assert!(!runs("{ a }", None));
        assert!(!runs("query Q { a }", None));
        assert!(!runs("subscription { a }", None));
        let two = "query Q { a } mutation M { b }";
        assert!(runs(two, Some("M")));
        assert!(!runs(two, Some("Q")));
        assert!(!runs(two, Some("X")));
        assert!(!runs(two, None));
        assert!(runs("mutation M { b }", None));
        assert!(!runs("mutation {", None));
    }
}
