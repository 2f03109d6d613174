//! The subscription root: the event feed (resumable by cursor) and one deal's changes.
use async_graphql::{Context, ID, InputObject, Subscription};
use std::sync::Arc;

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

/// The feed's items as the schema's `Event`.
fn as_events(
    feed: impl Stream<Item = Result<Arc<LoggedEvent>, AppError>> + Send + 'static,
) -> BoxStream<'static, async_graphql::Result<Event>> {
    feed.map(|r| r.map(|e| Event(e.event.clone())).gql())
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
    ) -> async_graphql::Result<BoxStream<'static, async_graphql::Result<Event>>> {
        // Boxed: the subscription keeps this future's room for as long as it lives.
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
            Ok(as_events(events(
                app.db.clone(),
                app.bus.clone(),
                v,
                after,
                sf,
            )))
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
