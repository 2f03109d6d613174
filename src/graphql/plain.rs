//! Objects whose plain fields are answered in place. async-graphql resolves every field
//! of an object through a boxed future of its own (and, unless `serial`, a task in a
//! `FuturesUnordered`), which is most of what a page of opportunities costs the server
//! once its rows are loaded (bench/README.md). A field that only reads the object's row
//! needs none of that: [`Fast`] writes such fields' values straight into the object's
//! answer and leaves the others (loads, arguments) to async-graphql, in the same order.
//!
//! Anything but plain field selections (a fragment, a directive, a response key given
//! twice) sends the whole object down async-graphql's own path, so the answer is always
//! the one the `#[Object]` resolvers give; `tests/api/queries.rs` checks that both paths
//! answer alike for every field listed here.
use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::{
    ContainerType, ContextSelectionSet, InputType, OutputType, Positioned, ScalarType,
    ServerResult, Value,
};

/// An object type some of whose fields are plain reads of its row.
pub trait PlainFields: ContainerType + OutputType {
    /// Whether the other fields may run one after another (as `#[Object(serial)]` does):
    /// true when they are at most one load between them.
    const SERIAL: bool;

    /// The value of `field` when it is a plain read (no arguments, nothing to load);
    /// `None` leaves the field to the type's resolver. Only fields whose resolver does
    /// nothing else belong here: a guard, a visibility rule or a context lookup on a
    /// field listed here would be skipped.
    fn plain(&self, field: &str) -> Option<Value>;
}

/// An object resolved with its plain fields answered in place; the same GraphQL type as
/// `T` (it registers and names itself as `T`).
pub struct Fast<T>(pub T);

impl<T: PlainFields> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match resolve(ctx, &self.0).await {
            Some(v) => Ok(v),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// The object's answer, or `None` when its selection is not only plain field
/// selections (async-graphql's own path answers it then).
async fn resolve<T: PlainFields>(ctx: &ContextSelectionSet<'_>, root: &T) -> Option<Value> {
    let items = &ctx.item.node.items;
    let mut out: IndexMap<async_graphql::Name, Value> = IndexMap::with_capacity(items.len());
    // The fields left to the resolvers: their place in `out`, and their selection.
    let mut rest: Vec<(usize, &Positioned<Field>)> = Vec::new();
    for selection in items {
        let Selection::Field(field) = &selection.node else {
            return None;
        };
        if !field.node.directives.is_empty() {
            return None;
        }
        let key = field.node.response_key().node.clone();
        let name = field.node.name.node.as_str();
        let value = if name == "__typename" {
            Some(Value::String(root.introspection_type_name().into_owned()))
        } else if field.node.arguments.is_empty() {
            root.plain(name)
        } else {
            None
        };
        let plain = value.is_some();
        let (at, before) = out.insert_full(key, value.unwrap_or_default());
        if before.is_some() {
            // The same key twice: async-graphql merges their selections.
            return None;
        }
        if !plain {
            rest.push((at, field));
        }
    }
    let mut failed = Vec::new();
    let mut settle = |out: &mut IndexMap<_, _>, at: usize, r: ServerResult<Option<Value>>| match r {
        Ok(v) => {
            if let Some((_, slot)) = out.get_index_mut(at) {
                *slot = v.unwrap_or_default();
            }
        }
        Err(e) => {
            ctx.add_error(e);
            failed.push(at);
        }
    };
    if T::SERIAL || rest.len() == 1 {
        for (at, field) in rest {
            let r = root.resolve_field(&ctx.with_field(field)).await;
            settle(&mut out, at, r);
        }
    } else if !rest.is_empty() {
        let answers =
            futures_util::future::join_all(rest.into_iter().map(|(at, field)| async move {
                (at, root.resolve_field(&ctx.with_field(field)).await)
            }))
            .await;
        for (at, r) in answers {
            settle(&mut out, at, r);
        }
    }
    // A field that failed is left out of the answer, as async-graphql does.
    failed.sort_unstable();
    for at in failed.into_iter().rev() {
        out.shift_remove_index(at);
    }
    Some(if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    })
}

/// A string field's value.
pub fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// An optional string field's value.
pub fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

/// A scalar's value (ids, dates, times).
pub fn scalar<S: ScalarType>(v: &S) -> Value {
    v.to_value()
}

/// An optional scalar's value.
pub fn opt_scalar<S: ScalarType>(v: Option<&S>) -> Value {
    v.map_or(Value::Null, ScalarType::to_value)
}

/// An enum's value, as its resolver would give it.
pub fn enumerated<E: InputType>(v: E) -> Value {
    v.to_value()
}

/// An optional enum's value.
pub fn opt_enumerated<E: InputType>(v: Option<E>) -> Value {
    v.map_or(Value::Null, |v| v.to_value())
}
