//! Gives every error that async-graphql raises by itself an `extensions.code`: parse
//! failures, validation failures, limits, and input coercion during execution.
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};

use crate::error::ErrorCode;

/// The extension, with the document limits it enforces right after parsing.
pub struct ErrorCodes {
    pub max_aliases: usize,
    pub max_root_fields: usize,
}

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension {
            max_aliases: self.max_aliases,
            max_root_fields: self.max_root_fields,
        })
    }
}

struct ErrorCodesExtension {
    max_aliases: usize,
    max_root_fields: usize,
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

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await.map_err(|mut e| {
            set_code(&mut e, ErrorCode::GraphqlParseFailed);
            e
        })?;
        // Alias floods and wide roots are refused before validation costs anything.
        let (aliases, root) = shape(&doc);
        if aliases > self.max_aliases || root > self.max_root_fields {
            let mut e = ServerError::new(
                format!(
                    "the query has {aliases} aliases and {root} root fields; at most {} and {} are allowed",
                    self.max_aliases, self.max_root_fields
                ),
                None,
            );
            set_code(&mut e, ErrorCode::QueryTooComplex);
            return Err(e);
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for e in &mut errors {
                let limit = e.message.contains("too complex") || e.message.contains("too deep");
                let code = if limit {
                    ErrorCode::QueryTooComplex
                } else {
                    ErrorCode::GraphqlValidationFailed
                };
                set_code(e, code);
            }
            errors
        })
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut resp = next.run(ctx).await;
        // Whatever is still uncoded was raised by async-graphql while coercing inputs
        // (variables, argument validators): our resolvers always code their errors.
        for e in &mut resp.errors {
            set_code(e, ErrorCode::GraphqlValidationFailed);
            let code = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map(|c| c.to_string().trim_matches('"').to_owned())
                .unwrap_or_default();
            metrics::counter!("cosell_graphql_errors_total", "code" => code).increment(1);
        }
        resp
    }
}
