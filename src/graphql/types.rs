//! The object types of the directory: organizations, tenants, users, customers,
//! solutions, the viewer, and the `Node` interface over them.
use async_graphql::{Context, Enum, ID, Interface, Object, Value};
use chrono::{DateTime, Utc};
use std::sync::Arc;

use entity::{customers, organizations, solutions, tenants, users};

use super::context::{app, loaders, viewer};
use super::ids::{self, Kind};
use super::loaders::load;
use super::plain::{PlainFields, enumerated, opt_text, scalar, text};
use crate::domain::{OrgKind, Role as DomainRole};
use crate::error::{AppError, GqlResult};
use crate::service::directory;

/// Anything with a global id, for Relay's `node(id:)` refetching.
// Made once per `node` field and returned at once, never stored: the size of the largest
// variant (a whole row) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's opaque global id."))]
pub enum Node {
    Organization(Organization),
    Tenant(Tenant),
    User(User),
    Customer(Customer),
    Solution(Solution),
    Opportunity(super::deal_types::Opportunity),
    Invitation(super::deal_types::Invitation),
}

/// Whether an organization is Microsoft or a partner.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::OrgKind")]
pub enum OrganizationKind {
    /// Microsoft itself (exactly one on the platform).
    Microsoft,
    /// A partner company.
    Partner,
}

/// Partner Center's roles.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::Role")]
pub enum Role {
    /// Sees and manages every opportunity of its organization, and gets its
    /// incoming-invitation email.
    ReferralAdmin,
    /// Sees and manages the opportunities whose team lists its email.
    ReferralUser,
    /// Manages the organization's account (users, roles, tenants), with a referral
    /// admin's reach.
    AccountAdmin,
    /// A Microsoft user who reviews deal registrations.
    RegistrationReviewer,
}

/// A solution's publisher relative to the viewer.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SolutionKind {
    /// Published by the viewer's own organization.
    Own,
    /// Published by Microsoft.
    Microsoft,
    /// Published by another partner.
    ThirdParty,
}

pub(crate) fn org_kind(model: &organizations::Model) -> OrgKind {
    model.kind.parse().unwrap_or(OrgKind::Partner)
}

pub(crate) async fn load_org(
    ctx: &Context<'_>,
    id: uuid::Uuid,
) -> async_graphql::Result<Organization> {
    load(&loaders(ctx)?.organizations, id)
        .await?
        .map(Organization)
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("organization {id} missing")).into_graphql()
        })
}

/// A company on the platform: Microsoft or a partner.
pub struct Organization(pub Arc<organizations::Model>);

#[Object]
impl Organization {
    /// The organization's global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::Organization, self.0.id)
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Microsoft or partner.
    async fn kind(&self) -> OrganizationKind {
        org_kind(&self.0).into()
    }
    /// The partner program's id (e.g. an MPN id); none for Microsoft.
    async fn partner_id(&self) -> Option<&str> {
        self.0.partner_id.as_deref()
    }
    /// Whether the partner is co-sell ready: only those can be found and invited.
    async fn co_sell_ready(&self) -> bool {
        self.0.co_sell_ready
    }
    /// Home country (ISO 3166-1 alpha-2), when known.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    /// The directory tenants linked to this organization; listed for its own users only.
    async fn tenants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tenant>> {
        let v = viewer(ctx).await?;
        let rows = directory::tenants(&app(ctx)?.db, v, self.0.id)
            .await
            .gql()?;
        Ok(rows.into_iter().map(Tenant).collect())
    }
    /// The organization's users: listed for its own referral and account admins.
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let v = viewer(ctx).await?;
        let rows = crate::service::accounts::users_of(&app(ctx)?.db, v, self.0.id)
            .await
            .gql()?;
        Ok(rows.into_iter().map(User).collect())
    }
    /// The solutions this organization publishes that the viewer may see (all of its
    /// own; other organizations' co-sell-ready ones).
    async fn solutions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Solution>> {
        let v = viewer(ctx).await?;
        let rows = directory::published_solutions(&app(ctx)?.db, v, self.0.id)
            .await
            .gql()?;
        Ok(rows.into_iter().map(Solution::from).collect())
    }
}

/// A directory tenant through which an organization's users sign in.
pub struct Tenant(pub tenants::Model);

#[Object(serial)]
impl Tenant {
    /// The tenant's global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::Tenant, self.0.id)
    }
    /// The directory's own tenant id.
    async fn tenant_id(&self) -> String {
        self.0.id.to_string()
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Whether its users may sign in through it.
    async fn linked(&self) -> bool {
        self.0.linked
    }
    /// The organization the tenant is linked to.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        load_org(ctx, self.0.organization_id).await
    }
}

/// A person who signs in.
pub struct User(pub users::Model);

#[Object(serial)]
impl User {
    /// The user's global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::User, self.0.id)
    }
    /// Full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Email address; team membership is matched on it.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The user's roles.
    async fn roles(&self) -> Vec<Role> {
        DomainRole::parse_list(&self.0.roles)
            .into_iter()
            .map(Role::from)
            .collect()
    }
    /// Preferred locale (BCP 47), when set.
    async fn locale(&self) -> Option<&str> {
        self.0.locale.as_deref()
    }
    /// Whether the user receives email notifications.
    async fn notifications_enabled(&self) -> bool {
        self.0.notifications_enabled
    }
    /// Whether the user may sign in.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The user's organization.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        load_org(ctx, self.0.organization_id).await
    }
}

/// An end customer a deal is about. Many companies have several entities in one city:
/// the address and D-U-N-S number tell them apart.
pub struct Customer(pub Arc<customers::Model>);

// `serial` (here and on TeamMember, Solution, Tenant, User): each field is a plain read
// or the object's one load, so resolving them one after another waits no longer, and it
// skips the set of concurrent futures async-graphql builds for every object otherwise
// (a page has hundreds of these objects; bench/README.md).
#[Object(serial)]
impl Customer {
    /// The customer's global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::Customer, self.0.id)
    }
    /// Legal name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// First address line.
    async fn address_line1(&self) -> &str {
        &self.0.address_line1
    }
    /// Second address line.
    async fn address_line2(&self) -> Option<&str> {
        self.0.address_line2.as_deref()
    }
    /// City.
    async fn city(&self) -> &str {
        &self.0.city
    }
    /// State or region.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    /// Postal code.
    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }
    /// Country, ISO 3166-1 alpha-2.
    async fn country(&self) -> &str {
        &self.0.country
    }
    /// D-U-N-S number (nine digits), when known.
    async fn duns(&self) -> Option<&str> {
        self.0.duns.as_deref()
    }
    /// Website.
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    /// When the customer was entered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A product or service an organization publishes, to be attached to deals.
pub struct Solution(pub Arc<solutions::Model>);

#[Object(serial)]
impl Solution {
    /// The solution's global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::Solution, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Only co-sell-ready solutions can be attached to a deal.
    async fn co_sell_ready(&self) -> bool {
        self.0.co_sell_ready
    }
    /// Whether a won deal with this solution can be registered for Microsoft's review.
    async fn registration_eligible(&self) -> bool {
        self.0.registration_eligible
    }
    /// The publishing organization.
    async fn publisher(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        load_org(ctx, self.0.publisher_id).await
    }
    /// The publisher relative to the viewer: own, Microsoft's or a third party's.
    async fn kind(&self, ctx: &Context<'_>) -> async_graphql::Result<SolutionKind> {
        let v = viewer(ctx).await?;
        if self.0.publisher_id == v.organization_id {
            return Ok(SolutionKind::Own);
        }
        let publisher = load_org(ctx, self.0.publisher_id).await?;
        Ok(match org_kind(&publisher.0) {
            OrgKind::Microsoft => SolutionKind::Microsoft,
            OrgKind::Partner => SolutionKind::ThirdParty,
        })
    }
}

/// The signed-in user, its roles and organization.
pub struct Viewer {
    pub user: users::Model,
    pub tenant: tenants::Model,
    pub organization: organizations::Model,
}

#[Object]
impl Viewer {
    /// The signed-in user.
    async fn user(&self) -> User {
        User(self.user.clone())
    }
    /// The user's roles.
    async fn roles(&self) -> Vec<Role> {
        DomainRole::parse_list(&self.user.roles)
            .into_iter()
            .map(Role::from)
            .collect()
    }
    /// The user's organization.
    async fn organization(&self) -> Organization {
        Organization::from(self.organization.clone())
    }
    /// The tenant the user signed in through.
    async fn tenant(&self) -> Tenant {
        Tenant(self.tenant.clone())
    }
}

/// Object types that hold a row behind an `Arc`: made from a row read for them alone, or
/// from one the request's loaders share.
macro_rules! from_row {
    ($($ty:ty => $model:ty),* $(,)?) => {$(
        impl From<$model> for $ty {
            fn from(m: $model) -> Self {
                Self(Arc::new(m))
            }
        }
        impl From<Arc<$model>> for $ty {
            fn from(m: Arc<$model>) -> Self {
                Self(m)
            }
        }
    )*};
}

from_row!(
    Organization => organizations::Model,
    Customer => customers::Model,
    Solution => solutions::Model,
    super::deal_types::Invitation => entity::invitations::Model,
    super::deal_types::TeamMember => entity::team_members::Model,
    super::deal_types::Participant => entity::opportunities::Model,
);

// The fields the resolvers above answer from the row alone (`super::plain`).
impl PlainFields for Organization {
    const SERIAL: bool = false;

    fn plain(&self, field: &str) -> Option<Value> {
        let m = &self.0;
        Some(match field {
            "id" => scalar(&ids::encode(Kind::Organization, m.id)),
            "name" => text(&m.name),
            "kind" => enumerated(OrganizationKind::from(org_kind(m))),
            "partnerId" => opt_text(m.partner_id.as_deref()),
            "coSellReady" => Value::Boolean(m.co_sell_ready),
            "country" => opt_text(m.country.as_deref()),
            _ => return None,
        })
    }
}

impl PlainFields for Customer {
    const SERIAL: bool = true;

    fn plain(&self, field: &str) -> Option<Value> {
        let m = &self.0;
        Some(match field {
            "id" => scalar(&ids::encode(Kind::Customer, m.id)),
            "name" => text(&m.name),
            "addressLine1" => text(&m.address_line1),
            "addressLine2" => opt_text(m.address_line2.as_deref()),
            "city" => text(&m.city),
            "region" => opt_text(m.region.as_deref()),
            "postalCode" => opt_text(m.postal_code.as_deref()),
            "country" => text(&m.country),
            "duns" => opt_text(m.duns.as_deref()),
            "website" => opt_text(m.website.as_deref()),
            "createdAt" => scalar(&m.created_at),
            _ => return None,
        })
    }
}

impl PlainFields for Solution {
    const SERIAL: bool = true;

    fn plain(&self, field: &str) -> Option<Value> {
        let m = &self.0;
        Some(match field {
            "id" => scalar(&ids::encode(Kind::Solution, m.id)),
            "name" => text(&m.name),
            "coSellReady" => Value::Boolean(m.co_sell_ready),
            "registrationEligible" => Value::Boolean(m.registration_eligible),
            _ => return None,
        })
    }
}
