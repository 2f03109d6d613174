//! The query root.
use async_graphql::{Context, ID, Object};

use super::connection::{Conn, connection, page_args};
use super::context::{app, viewer};
use super::deal_types::{Invitation, Opportunity};
use super::ids::{self, Kind};
use super::types::{Customer, Node, Organization, Solution, SolutionKind, Tenant, User, Viewer};
use crate::error::{AppError, GqlResult, UserError};
use crate::service::{customers, directory, opportunities, partners, views};
use crate::store::directory::SolutionScope;

/// Queries of the directory and the customer picker.
#[derive(Default)]
pub struct DirectoryQuery;

/// The most ids `nodes(ids:)` takes at once.
const MAX_NODES: usize = 100;

async fn resolve_node(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<Node>> {
    let v = viewer(ctx).await?;
    let db = &app(ctx)?.db;
    let Some((kind, uuid)) = ids::decode(id) else {
        return Ok(None);
    };
    Ok(match kind {
        Kind::Organization => directory::organization(db, uuid)
            .await
            .gql()?
            .map(|o| Node::Organization(Organization::from(o))),
        Kind::Tenant => directory::tenant(db, v, uuid)
            .await
            .gql()?
            .map(|t| Node::Tenant(Tenant(t))),
        Kind::User => directory::user(db, v, uuid)
            .await
            .gql()?
            .map(|u| Node::User(User(u))),
        Kind::Customer => customers::get(db, uuid)
            .await
            .gql()?
            .map(|c| Node::Customer(Customer::from(c))),
        Kind::Solution => directory::solution(db, v, uuid)
            .await
            .gql()?
            .map(|s| Node::Solution(Solution::from(s))),
        Kind::Opportunity => opportunities::get_visible(db, v, uuid)
            .await
            .gql()?
            .map(|o| Node::Opportunity(Opportunity(o))),
        Kind::Invitation => views::invitation(db, v, uuid)
            .await
            .gql()?
            .map(|i| Node::Invitation(Invitation::from(i))),
        Kind::TeamMember | Kind::Registration => None,
    })
}

#[Object]
impl DirectoryQuery {
    /// The signed-in user, its roles, tenant and organization.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        let v = viewer(ctx).await?;
        let (user, tenant, organization) =
            directory::viewer_profile(&app(ctx)?.db, v).await.gql()?;
        Ok(Viewer {
            user,
            tenant,
            organization,
        })
    }

    /// Any object by its global id; `null` when it does not exist or the viewer may not
    /// see it (the two are indistinguishable).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        resolve_node(ctx, &id).await
    }

    /// Several objects by global id, in the order asked; `null` for each one that does
    /// not exist or is not visible. At most 100 ids.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(max_items = 100))] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        let mut out = Vec::with_capacity(ids.len().min(MAX_NODES));
        for id in ids.iter().take(MAX_NODES) {
            out.push(resolve_node(ctx, id).await?);
        }
        Ok(out)
    }

    /// An organization's public profile.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Organization>> {
        viewer(ctx).await?;
        let Some(uuid) = ids::decode_as(&id, Kind::Organization) else {
            return Ok(None);
        };
        Ok(directory::organization(&app(ctx)?.db, uuid)
            .await
            .gql()?
            .map(Organization::from))
    }

    /// A customer by id.
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Customer>> {
        viewer(ctx).await?;
        let Some(uuid) = ids::decode_as(&id, Kind::Customer) else {
            return Ok(None);
        };
        Ok(customers::get(&app(ctx)?.db, uuid)
            .await
            .gql()?
            .map(Customer::from))
    }

    /// The "Invite partner" picker: co-sell-ready partners other than the viewer's own
    /// organization, by name prefix or words (case and accents ignored), narrowed by a
    /// published solution, solution kind and country. Name match ranks first; then
    /// partners that answer invitations within the window and quickly, and that accepted
    /// similar deals (`forSolutions`, `forCustomerCountry`). Each edge shows the figures
    /// behind its rank.
    #[allow(clippy::too_many_arguments)]
    async fn partners(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(max_length = 200))] search: Option<String>,
        solution: Option<ID>,
        solution_kind: Option<SolutionKind>,
        #[graphql(validator(max_length = 2))] country: Option<String>,
        #[graphql(validator(max_items = 50))] for_solutions: Option<Vec<ID>>,
        #[graphql(validator(max_length = 2))] for_customer_country: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PartnerConn> {
        let v = viewer(ctx).await?;
        let args = page_args(first, after).map_err(user_error)?;
        let country_of =
            |c: Option<String>, field: &str| -> async_graphql::Result<Option<String>> {
                match c.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                    None => Ok(None),
                    Some(c) => crate::domain::values::CountryCode::parse(c)
                        .map(|c| Some(c.as_str().to_owned()))
                        .map_err(|why| user_error(UserError::invalid(&[field], why))),
                }
            };
        let q = partners::PartnerQuery {
            search,
            solution: solution.map(|s| ids::uuid_or_nil(&s, Kind::Solution)),
            publishes_third_party: solution_kind.map(|k| k == SolutionKind::ThirdParty),
            country: country_of(country, "country")?,
            for_solutions: for_solutions
                .unwrap_or_default()
                .iter()
                .map(|s| ids::uuid_or_nil(s, Kind::Solution))
                .collect(),
            for_customer_country: country_of(for_customer_country, "forCustomerCountry")?,
        };
        let page = partners::search(&app(ctx)?.db, v, &q, &args).await.gql()?;
        let mut conn = async_graphql::connection::Connection::with_additional_fields(
            page.has_previous,
            page.has_next,
            super::connection::ConnectionFields {
                total_count: page.total,
            },
        );
        conn.edges.extend(page.rows.into_iter().map(|(c, h)| {
            async_graphql::connection::Edge::with_additional_fields(
                c.encode(),
                Organization::from(h.organization),
                PartnerRank {
                    responsiveness: Responsiveness {
                        invitations_received: h.responsiveness.invitations_received,
                        answered_within_window: h.responsiveness.answered_within_window,
                        share_answered_within_window: h.responsiveness.share_answered_within_window,
                        median_hours_to_answer: h.responsiveness.median_hours_to_answer,
                    },
                    similar_deals: h.similar_deals,
                    score: h.score,
                },
            )
        }));
        Ok(conn)
    }

    /// The solution catalog: the viewer's own solutions and other organizations'
    /// co-sell-ready ones, by name, narrowed by kind (relative to the viewer).
    async fn solutions(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(max_length = 200))] search: Option<String>,
        kind: Option<SolutionKind>,
        co_sell_ready: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Solution>> {
        let v = viewer(ctx).await?;
        let args = page_args(first, after).map_err(user_error)?;
        let scope = kind.map(|k| match k {
            SolutionKind::Own => SolutionScope::Own,
            SolutionKind::Microsoft => SolutionScope::Microsoft,
            SolutionKind::ThirdParty => SolutionScope::ThirdParty,
        });
        let page = directory::solutions(
            &app(ctx)?.db,
            v,
            search.as_deref(),
            scope,
            co_sell_ready,
            &args,
        )
        .await
        .gql()?;
        Ok(connection(page, Solution::from))
    }

    /// The customer picker: by name prefix or words, case and accents ignored, narrowed
    /// by country and city; the whole name first, then names that start with the search,
    /// then names that contain its words.
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(max_length = 200))] search: Option<String>,
        #[graphql(validator(max_length = 2))] country: Option<String>,
        #[graphql(validator(max_length = 200))] city: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Customer>> {
        viewer(ctx).await?;
        let args = page_args(first, after).map_err(user_error)?;
        let page = customers::search(
            &app(ctx)?.db,
            search.as_deref(),
            country.as_deref(),
            city.as_deref(),
            &args,
        )
        .await
        .gql()?;
        Ok(connection(page, Customer::from))
    }
}

fn user_error(e: UserError) -> async_graphql::Error {
    AppError::from(e).into_graphql()
}

/// How a partner answers invitations (all it ever received).
#[derive(async_graphql::SimpleObject)]
pub struct Responsiveness {
    pub invitations_received: i64,
    pub answered_within_window: i64,
    /// Share answered (accepted or declined) within the window; null without history.
    pub share_answered_within_window: Option<f64>,
    /// Median hours from invitation to answer.
    pub median_hours_to_answer: Option<f64>,
}

/// The figures behind a partner's place in the picker.
#[derive(async_graphql::SimpleObject)]
pub struct PartnerRank {
    pub responsiveness: Responsiveness,
    /// Accepted or won deals with the given solutions / customer country.
    pub similar_deals: i64,
    /// The score that orders partners of equal name match (higher first).
    pub score: f64,
}

/// The partner picker's connection.
pub type PartnerConn = async_graphql::connection::Connection<
    String,
    Organization,
    super::connection::ConnectionFields,
    PartnerRank,
>;
