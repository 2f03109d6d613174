//! The subscription root: the event feed (resumable by cursor) and one deal's changes.
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{Field, FragmentDefinition, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, ID, InputObject, Name, OutputType, Positioned, ServerResult,
    Subscription,
};

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};

use super::context::{app, viewer};
use super::deal_query::OpportunityView;
use super::deal_types::{Event, EventKind, Opportunity};
use super::ids::{Kind, uuid_or_nil};
use crate::domain::access::sees_opportunity;
use crate::error::{AppError, GqlResult, UserError, UserErrorCode};
use crate::events::LoggedEvent;
use crate::events::stream::{StreamFilter, events};
use crate::service::opportunities;
use crate::store::opportunity_list::View;

#[derive(Default)]
pub struct SubscriptionRoot;

/// What the event feed is narrowed to.
#[derive(InputObject, Default)]
pub struct EventFilter {
    /// Only the events of this opportunity's engagement.
    pub opportunity_id: Option<ID>,
    /// Only engagements where the viewer's side is in this list tab.
    pub view: Option<OpportunityView>,
    /// Only these kinds.
    #[graphql(validator(max_items = 18))]
    pub kinds: Option<Vec<EventKind>>,
}

fn bad_cursor() -> async_graphql::Error {
    AppError::from(UserError::new(
        UserErrorCode::BadUserInput,
        "after is not an event cursor",
        &["after"],
    ))
    .into_graphql()
}

/// The `Event` fields whose value is the same for every viewer.
const SAME_FOR_ALL: &[&str] = &[
    "cursor",
    "kind",
    "occurredAt",
    "opportunityId",
    "payload",
    "__typename",
];

/// A key for the field's selection when everything it selects of an `Event` is the same
/// for every viewer and depends on no variable: only those fields, no arguments, no
/// directives. Subscribers whose keys are equal get equal values for an event, so the
/// first one's is reused ([`LoggedEvent::resolved`]). `None` otherwise: each subscriber
/// resolves its own.
fn shared_key(ctx: &Context<'_>) -> Option<Arc<str>> {
    fn walk(
        set: &SelectionSet,
        fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
        key: &mut String,
        depth: usize,
    ) -> Option<()> {
        if depth > 8 {
            return None;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    if !f.arguments.is_empty()
                        || !f.directives.is_empty()
                        || !f.selection_set.node.items.is_empty()
                        || !SAME_FOR_ALL.contains(&f.name.node.as_str())
                    {
                        return None;
                    }
                    key.push_str(f.response_key().node.as_str());
                    key.push(':');
                    key.push_str(f.name.node.as_str());
                    key.push(' ');
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = fragments.get(&spread.node.fragment_name.node)?;
                    if !spread.node.directives.is_empty() || !fragment.node.directives.is_empty() {
                        return None;
                    }
                    key.push('{');
                    walk(&fragment.node.selection_set.node, fragments, key, depth + 1)?;
                    key.push('}');
                }
                Selection::InlineFragment(inline) => {
                    if !inline.node.directives.is_empty() {
                        return None;
                    }
                    key.push('{');
                    walk(&inline.node.selection_set.node, fragments, key, depth + 1)?;
                    key.push('}');
                }
            }
        }
        Some(())
    }
    let mut key = String::new();
    walk(
        &ctx.item.node.selection_set.node,
        &ctx.query_env.fragments,
        &mut key,
        0,
    )?;
    Some(key.into())
}

/// One event on its way to one subscriber: the schema's `Event`, resolved once per event
/// for all the subscribers whose selection has the same [`shared_key`].
pub struct LiveEvent {
    event: Arc<LoggedEvent>,
    key: Option<Arc<str>>,
}

impl OutputType for LiveEvent {
    fn type_name() -> Cow<'static, str> {
        <Event as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Event as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<async_graphql::Value> {
        if let Some(v) = self.key.as_deref().and_then(|k| self.event.resolved(k)) {
            return Ok(v);
        }
        let value = OutputType::resolve(&Event(self.event.event.clone()), ctx, field).await?;
        if let Some(k) = &self.key {
            let clean = ctx
                .query_env
                .errors
                .lock()
                .map(|e| e.is_empty())
                .unwrap_or(false);
            if clean {
                self.event.keep_resolved(k.clone(), value.clone());
            }
        }
        Ok(value)
    }
}

/// The feed's items as the schema's `Event`.
fn as_events(
    feed: impl Stream<Item = Result<Arc<LoggedEvent>, AppError>> + Send + 'static,
    key: Option<Arc<str>>,
) -> BoxStream<'static, async_graphql::Result<LiveEvent>> {
    feed.map(move |r| {
        r.map(|event| LiveEvent {
            event,
            key: key.clone(),
        })
        .gql()
    })
    .boxed()
}

#[Subscription]
impl SubscriptionRoot {
    /// The events the viewer may see, as they happen. Pass the `cursor` of the last
    /// event seen as `after` to first receive every later event from the log, then live
    /// ones: reconnecting loses nothing and repeats nothing.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        filter: Option<EventFilter>,
    ) -> async_graphql::Result<BoxStream<'static, async_graphql::Result<LiveEvent>>> {
        // Boxed: the subscription keeps this future's room for as long as it lives.
        let key = shared_key(ctx);
        Box::pin(async move {
            let v = viewer(ctx).await?.clone();
            let app = app(ctx)?.clone();
            let after = match after {
                Some(c) => Some(c.trim().parse::<i64>().map_err(|_| bad_cursor())?),
                None => None,
            };
            let filter = filter.unwrap_or_default();
            let engagement = match &filter.opportunity_id {
                Some(id) => {
                    let opp =
                        opportunities::get_visible(&app.db, &v, uuid_or_nil(id, Kind::Opportunity))
                            .await
                            .gql()?
                            .ok_or_else(|| {
                                AppError::from(UserError::not_found(
                                    "opportunity",
                                    &["filter", "opportunityId"],
                                ))
                                .into_graphql()
                            })?;
                    Some(opp.engagement_id)
                }
                None => None,
            };
            let sf = StreamFilter {
                engagement,
                kinds: filter
                    .kinds
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                view: filter.view.map(View::from),
            };
            Ok(as_events(
                events(app.db.clone(), app.bus.clone(), v, after, sf),
                key,
            ))
        })
        .await
    }

    /// One opportunity as it changes: the opportunity again after every event of its
    /// engagement the viewer may see. Ends when the viewer can no longer see it.
    async fn opportunity_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<BoxStream<'static, async_graphql::Result<Opportunity>>> {
        Box::pin(async move {
            let v = viewer(ctx).await?.clone();
            let app = app(ctx)?.clone();
            let uuid = uuid_or_nil(&id, Kind::Opportunity);
            let opp = opportunities::get_visible(&app.db, &v, uuid)
                .await
                .gql()?
                .ok_or_else(|| {
                    AppError::from(UserError::not_found("opportunity", &["id"])).into_graphql()
                })?;
            let sf = StreamFilter {
                engagement: Some(opp.engagement_id),
                ..Default::default()
            };
            let db = app.db.clone();
            let feed = events(app.db.clone(), app.bus.clone(), v.clone(), None, sf);
            // The opportunity as the event's shared sides hold it: read once per event,
            // not once per subscriber.
            Ok(feed
                .then(move |r| {
                    let db = db.clone();
                    let v = v.clone();
                    async move {
                        let ev = r?;
                        let sides = Box::pin(ev.sides(&db)).await?;
                        Ok::<_, AppError>(
                            sides
                                .sides
                                .iter()
                                .find(|s| s.opportunity.id == uuid)
                                .and_then(|s| {
                                    sees_opportunity(&v, s.opportunity.organization_id, &s.team)
                                        .then(|| s.opportunity.clone())
                                }),
                        )
                    }
                })
                .take_while(|r| std::future::ready(!matches!(r, Ok(None))))
                .filter_map(|r| {
                    std::future::ready(match r {
                        Ok(Some(o)) => Some(Ok(Opportunity(o))),
                        Ok(None) => None,
                        Err(e) => Some(Err(e.into_graphql())),
                    })
                })
                .boxed())
        })
        .await
    }
}
