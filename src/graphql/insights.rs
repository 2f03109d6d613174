//! The `pipeline` query's types.
use async_graphql::{Context, Object, SimpleObject};
use chrono::NaiveDate;

use super::context::{app, viewer};
use crate::domain::pipeline::{Bucket, Pipeline};
use crate::domain::values::Money;
use crate::error::GqlResult;
use crate::service::insights;

#[derive(Default)]
pub struct InsightsQuery;

/// A sum of money in one currency (currencies are never converted).
#[derive(SimpleObject)]
pub struct MoneySum {
    pub currency: String,
    /// A decimal string.
    pub amount: String,
}

/// One group of opportunities.
#[derive(SimpleObject)]
pub struct PipelineBucket {
    /// The stage, deal type, direction, or close month (`YYYY-MM`, `NONE` without a date).
    pub key: String,
    pub count: i64,
    pub values: Vec<MoneySum>,
}

fn buckets(bs: Vec<Bucket>) -> Vec<PipelineBucket> {
    bs.into_iter()
        .map(|b| PipelineBucket {
            key: b.key,
            count: b.count,
            values: b
                .values
                .into_iter()
                .map(|(c, v)| MoneySum {
                    amount: Money::format_e4(v, Some(&c)),
                    currency: c,
                })
                .collect(),
        })
        .collect()
}

/// The caller's pipeline for a date range.
#[derive(SimpleObject)]
pub struct PipelineInsights {
    pub by_stage: Vec<PipelineBucket>,
    pub by_deal_type: Vec<PipelineBucket>,
    pub by_direction: Vec<PipelineBucket>,
    pub by_close_month: Vec<PipelineBucket>,
    /// Won / (won + lost); null without closed deals.
    pub win_rate: Option<f64>,
    pub invitations_received: i64,
    pub answered_within_window: i64,
    /// Share of received invitations answered within their window.
    pub share_answered_within_window: Option<f64>,
    /// Median hours from an invitation to its answer.
    pub median_hours_to_answer: Option<f64>,
}

impl From<Pipeline> for PipelineInsights {
    fn from(p: Pipeline) -> Self {
        PipelineInsights {
            by_stage: buckets(p.by_stage),
            by_deal_type: buckets(p.by_deal_type),
            by_direction: buckets(p.by_direction),
            by_close_month: buckets(p.by_close_month),
            win_rate: p.win_rate,
            invitations_received: p.invitations_received,
            answered_within_window: p.answered_within_window,
            share_answered_within_window: p.share_answered_within_window,
            median_hours_to_answer: p.median_hours_to_answer,
        }
    }
}

#[Object]
impl InsightsQuery {
    /// Counts and values of the caller's organization's opportunities created in the
    /// range (a referral user: its own deals), by stage, deal type, direction and close
    /// month; the win rate; and how promptly received invitations were answered.
    async fn pipeline(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> async_graphql::Result<PipelineInsights> {
        let v = viewer(ctx).await?;
        Ok(insights::pipeline(&app(ctx)?.db, v, from, to)
            .await
            .gql()?
            .into())
    }
}
