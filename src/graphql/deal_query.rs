//! Queries of deals: one opportunity or invitation, and the list tabs.
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::NaiveDate;

use super::connection::ConnectionFields;
use super::context::{app, guess, loaders, viewer};
use super::deal_types::{DealType, Direction, Invitation, Opportunity, Stage};
use super::ids::{self, Kind};
use super::loaders::PageNeeds;
use super::plain::Fast;
use crate::domain::deal;
use crate::error::{AppError, GqlResult, UserError, UserErrorCode};
use crate::service::{opportunities, views};
use crate::store::opportunity_list::{ListCursor, ListFilter, Sort, SortField, View, Window};
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};
use crate::store::search::TextQuery;

#[derive(Default)]
pub struct DealQuery;

/// The list tabs.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::store::opportunity_list::View")]
pub enum OpportunityView {
    /// This organization was invited: received or accepted.
    Inbound,
    /// It originated the deal: accepted.
    Outbound,
    /// The viewer's bookmarks, any stage.
    Favorites,
    /// Won, lost, declined or expired, either direction.
    Archived,
}

/// What lists sort by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::store::opportunity_list::SortField")]
pub enum OpportunitySortField {
    CreatedAt,
    UpdatedAt,
    DealName,
    CustomerName,
    /// Opportunities without a close date come last (ascending).
    CloseDate,
    /// Opportunities without a value come first (ascending).
    Value,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SortDirection {
    Asc,
    Desc,
}

/// A list's order; newest first by default.
#[derive(InputObject)]
pub struct OpportunityOrder {
    pub field: OpportunitySortField,
    pub direction: SortDirection,
}

/// Filters every list takes; all given ones must hold.
#[derive(InputObject, Default)]
pub struct OpportunityFilter {
    /// Any of these stages.
    #[graphql(validator(max_items = 6))]
    pub stages: Option<Vec<Stage>>,
    /// Any of these deal types.
    #[graphql(validator(max_items = 3))]
    pub deal_types: Option<Vec<DealType>>,
    pub direction: Option<Direction>,
    /// The customer's country, ISO 3166-1 alpha-2.
    pub customer_country: Option<String>,
    /// Close date on or after.
    pub close_date_from: Option<NaiveDate>,
    /// Close date on or before.
    pub close_date_to: Option<NaiveDate>,
    /// Value at least (a decimal string; currencies are not converted).
    pub value_min: Option<String>,
    /// Value at most.
    pub value_max: Option<String>,
    /// Words in the deal name, customer name, notes or CRM ID (case and accents ignored).
    #[graphql(validator(max_length = 200))]
    pub search: Option<String>,
}

fn bad(message: &str, field: &str) -> async_graphql::Error {
    AppError::from(UserError::new(
        UserErrorCode::BadUserInput,
        message,
        &[field],
    ))
    .into_graphql()
}

fn list_filter(f: OpportunityFilter) -> async_graphql::Result<ListFilter> {
    Ok(ListFilter {
        stages: f
            .stages
            .unwrap_or_default()
            .into_iter()
            .map(|s| deal::Stage::from(s).as_str())
            .collect(),
        deal_types: f
            .deal_types
            .unwrap_or_default()
            .into_iter()
            .map(|d| deal::DealType::from(d).as_str())
            .collect(),
        direction: f.direction.map(|d| deal::Direction::from(d).as_str()),
        customer_country: f
            .customer_country
            .as_deref()
            .map(views::country)
            .transpose()
            .gql()?,
        close_from: f.close_date_from,
        close_to: f.close_date_to,
        value_min: f
            .value_min
            .as_deref()
            .map(|v| views::value_bound(v, "valueMin"))
            .transpose()
            .gql()?,
        value_max: f
            .value_max
            .as_deref()
            .map(|v| views::value_bound(v, "valueMax"))
            .transpose()
            .gql()?,
        text: TextQuery::parse(f.search.as_deref()),
    })
}

fn window(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<Window> {
    let size = |n: i32, name: &str| {
        if (0..=MAX_PAGE as i32).contains(&n) {
            Ok(n as usize)
        } else {
            Err(bad(
                &format!("{name} must be between 0 and {MAX_PAGE}"),
                name,
            ))
        }
    };
    let cursor = |c: Option<String>, name: &str| match c {
        None => Ok(None),
        Some(s) => ListCursor::decode(&s)
            .map(Some)
            .ok_or_else(|| bad(&format!("{name} is not a valid cursor"), name)),
    };
    match (first, last) {
        (Some(_), Some(_)) => Err(bad("give first or last, not both", "last")),
        (_, Some(n)) => {
            if after.is_some() {
                return Err(bad("last pages backward: use before, not after", "after"));
            }
            Ok(Window {
                limit: size(n, "last")?,
                cursor: cursor(before, "before")?,
                backward: true,
                count: true,
            })
        }
        (n, None) => {
            if before.is_some() {
                return Err(bad("before needs last", "before"));
            }
            Ok(Window {
                limit: n
                    .map(|n| size(n, "first"))
                    .transpose()?
                    .unwrap_or(DEFAULT_PAGE),
                cursor: cursor(after, "after")?,
                backward: false,
                count: true,
            })
        }
    }
}

/// An email that could not be delivered.
#[derive(async_graphql::SimpleObject)]
pub struct FailedEmail {
    pub id: ID,
    /// Which email (e.g. `INVITATION_RECEIVED`).
    pub kind: String,
    pub recipient_email: String,
    pub subject: String,
    pub attempts: i32,
    /// The mail server's last answer.
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A person recently on one of the organization's teams, ready to be put on another.
#[derive(async_graphql::SimpleObject)]
pub struct RecentTeamMember {
    pub name: String,
    /// Phone in international form.
    pub phone: String,
    pub email: String,
    /// Whether the member wanted email notifications the last time.
    pub notify: bool,
    /// When the person was last put on a team.
    pub last_added_at: chrono::DateTime<chrono::Utc>,
}

#[Object]
impl DealQuery {
    /// Emails to the viewer's organization that failed for good (a permanent refusal,
    /// or too many passing ones), newest first. For referral and account admins.
    async fn failed_emails(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(minimum = 1, maximum = 100))] first: Option<i32>,
    ) -> async_graphql::Result<Vec<FailedEmail>> {
        let v = viewer(ctx).await?;
        let rows = crate::service::outbox::failed(&app(ctx)?.db, v, first.unwrap_or(20) as u64)
            .await
            .gql()?;
        Ok(rows
            .into_iter()
            .map(|r| FailedEmail {
                id: ID(r.id.to_string()),
                kind: r.kind,
                recipient_email: r.recipient_email,
                subject: r.subject,
                attempts: r.attempts,
                last_error: r.last_error,
                created_at: r.created_at,
            })
            .collect())
    }

    /// People recently put on the teams of the viewer's organization's opportunities (a
    /// referral user: of its own deals), one per email with its latest name, phone and
    /// notification choice, newest first: offered for quick re-use on a new team.
    async fn recent_team_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(minimum = 1, maximum = 50))] first: Option<i32>,
    ) -> async_graphql::Result<Vec<RecentTeamMember>> {
        let v = viewer(ctx).await?;
        let rows =
            crate::store::deals::recent_team_members(&app(ctx)?.db, v, first.unwrap_or(10) as u64)
                .await
                .gql()?;
        Ok(rows
            .into_iter()
            .map(|r| RecentTeamMember {
                name: r.name,
                phone: r.phone,
                email: r.email,
                notify: r.notify,
                last_added_at: r.created_at,
            })
            .collect())
    }

    /// One of the viewer's opportunities; `null` when it does not exist or the viewer
    /// may not see it.
    async fn opportunity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Opportunity>> {
        let v = viewer(ctx).await?;
        let uuid = ids::uuid_or_nil(&id, Kind::Opportunity);
        Ok(opportunities::get_visible(&app(ctx)?.db, v, uuid)
            .await
            .gql()?
            .map(Opportunity))
    }

    /// An invitation the viewer's organization sent or received.
    async fn invitation(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Invitation>> {
        let v = viewer(ctx).await?;
        let uuid = ids::uuid_or_nil(&id, Kind::Invitation);
        Ok(views::invitation(&app(ctx)?.db, v, uuid)
            .await
            .gql()?
            .map(Invitation::from))
    }

    /// A list tab of the viewer's opportunities (a referral user sees those whose team
    /// lists it), filtered and sorted, as a Relay connection. Cursors stay valid while
    /// rows are added.
    #[allow(clippy::too_many_arguments)]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        view: OpportunityView,
        filter: Option<OpportunityFilter>,
        order_by: Option<OpportunityOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Fast<Opportunity>, ConnectionFields>> {
        let input = list_filter(filter.unwrap_or_default())
            .and_then(|f| Ok((f, window(first, after, last, before)?)));
        let (f, mut w) = match input {
            Ok(input) => input,
            Err(bad_input) => {
                // Not signed in comes first, as on every other field.
                viewer(ctx).await?;
                return Err(bad_input);
            }
        };
        let sort = order_by
            .map(|o| Sort {
                field: SortField::from(o.field),
                descending: o.direction == SortDirection::Desc,
            })
            .unwrap_or_default();
        let selection = ctx.look_ahead();
        w.count = selection.field("totalCount").exists();
        let app = app(ctx)?;
        let (db, counts) = (&app.db, &*app.tab_counts);
        let view = View::from(view);
        // The page's statement starts beside the sign-in's when the token has signed in
        // before, and its answer is kept when the sign-in gives the viewer guessed.
        let (v, guessed) = match guess(ctx) {
            Some(g) => {
                let (signed_in, page) = futures_util::future::join(
                    viewer(ctx),
                    views::list(db, counts, g, view, &f, sort, &w),
                )
                .await;
                (signed_in?, Some((g, page)))
            }
            None => (viewer(ctx).await?, None),
        };
        let page = match guessed {
            Some((g, page)) if g == v => page,
            _ => views::list(db, counts, v, view, &f, sort, &w).await,
        }
        .gql()?;
        let needs = PageNeeds::of(&selection.field("edges").field("node"))
            .or(PageNeeds::of(&selection.field("nodes")));
        let models: Vec<&entity::opportunities::Model> = page.rows.iter().map(|(_, m)| m).collect();
        loaders(ctx)?
            .prime(db, v.user_id, &models, needs)
            .await
            .map_err(|e| {
                crate::error::AppError::Internal(anyhow::anyhow!(e.to_string())).into_graphql()
            })?;
        let mut conn = Connection::with_additional_fields(
            page.has_previous,
            page.has_next,
            ConnectionFields {
                total_count: page.total,
            },
        );
        conn.edges.extend(
            page.rows
                .into_iter()
                .map(|(c, m)| Edge::new(c.encode(), Fast(Opportunity(m)))),
        );
        Ok(conn)
    }
}
