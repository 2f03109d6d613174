//! The object types of deals: opportunities, the other participants, invitations, team
//! members, the customer contact and the timeline's events.
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject, Value};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{engagements, events, invitations, opportunities, team_members};
use std::sync::Arc;

use uuid::Uuid;

use super::connection::ConnectionFields;
use super::context::{app, loaders, viewer};
use super::ids::{self, Kind};
use super::loaders::load;
use super::plain::{
    Fast, PlainFields, enumerated, opt_enumerated, opt_scalar, opt_text, scalar, text,
};
use super::types::{Customer, Organization, Solution, load_org, org_kind};
use crate::domain::access::{Offer, OfferCase, available_actions};
use crate::domain::deal::{self, Direction as D, Stage as S};
use crate::domain::values::Money;
use crate::domain::{OrgKind, event};
use crate::error::{AppError, GqlResult, UserError, UserErrorCode};
use crate::store::opportunity_list::timeline;

/// Where one organization's side of an engagement stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::deal::Stage")]
pub enum Stage {
    /// An invitation waits for this organization's answer.
    Received,
    /// The organization works the deal.
    Accepted,
    /// Closed, won.
    Won,
    /// Closed, lost.
    Lost,
    /// The invitation was declined.
    Declined,
    /// Nobody answered in time.
    Expired,
}

/// The originator's side is outbound; every invitee's is inbound.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::deal::Direction")]
pub enum Direction {
    /// Originated by this organization.
    Outbound,
    /// This organization was invited.
    Inbound,
}

/// Who is in the engagement; only ever moves up.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::deal::DealType")]
pub enum DealType {
    /// The originator alone.
    Private,
    /// Partners invited, Microsoft not.
    PartnerToPartner,
    /// Microsoft invited or originating.
    CoSell,
}

/// The help wanted from Microsoft (Partner Center's codes).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::deal::HelpWanted")]
pub enum HelpWanted {
    /// No help: no Microsoft invitation.
    None,
    WorkloadValueProposition,
    TechnicalArchitecture,
    ProofOfConcept,
    PricingAndLicensing,
    PostSalesSuccess,
    Other,
}

/// Why an invitation was declined or a deal lost.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::deal::CloseReason")]
pub enum CloseReason {
    BudgetNotAdequate,
    CustomerNotResponsive,
    ChoseAnotherVendor,
    RequirementNotMet,
    NotACustomer,
    TimelineTooShort,
    SpamOrAbuse,
    Other,
}

/// The status of an invitation.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::deal::InvitationStatus")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Expired,
}

/// An action the caller may take on an opportunity now.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::access::Offer")]
pub enum OpportunityAction {
    Accept,
    Decline,
    Update,
    AddTeamMember,
    UpdateTeamMember,
    RemoveTeamMember,
    AddSolution,
    RemoveSolution,
    MarkWon,
    MarkLost,
    InviteMicrosoft,
    InvitePartner,
    RegisterDeal,
}

/// What happened, in the event log.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::event::EventKind")]
pub enum EventKind {
    DealCreated,
    DealUpdated,
    DealUpgraded,
    InvitationSent,
    InvitationAccepted,
    InvitationDeclined,
    InvitationExpiringSoon,
    InvitationExpired,
    DealWon,
    DealLost,
    TeamChanged,
    SolutionsChanged,
    RegistrationSubmitted,
    RegistrationInfoRequested,
    RegistrationAnswered,
    RegistrationApproved,
    RegistrationRejected,
    RegistrationWithdrawn,
}

fn stage_of(m: &opportunities::Model) -> deal::Stage {
    S::parse(&m.stage).unwrap_or(S::Expired)
}

fn money(value_e4: Option<i64>, currency: Option<&str>) -> Option<String> {
    value_e4.map(|v| Money::format_e4(v, currency))
}

fn help_wanted_of(m: &invitations::Model) -> HelpWanted {
    deal::HelpWanted::parse(&m.help_wanted)
        .unwrap_or(deal::HelpWanted::None)
        .into()
}

fn status_of(m: &invitations::Model) -> InvitationStatus {
    deal::InvitationStatus::parse(&m.status)
        .unwrap_or(deal::InvitationStatus::Expired)
        .into()
}

fn direction_of(m: &opportunities::Model) -> Direction {
    D::parse(&m.direction).unwrap_or(D::Inbound).into()
}

fn close_reason_of(reason: Option<&str>) -> Option<CloseReason> {
    reason.and_then(deal::CloseReason::parse).map(Into::into)
}

fn internal(what: &str) -> async_graphql::Error {
    AppError::Internal(anyhow::anyhow!("{what} missing")).into_graphql()
}

async fn engagement(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Arc<engagements::Model>> {
    load(&loaders(ctx)?.engagements, id)
        .await?
        .ok_or_else(|| internal("engagement"))
}

async fn team(
    ctx: &Context<'_>,
    opportunity: Uuid,
) -> async_graphql::Result<Vec<Fast<TeamMember>>> {
    Ok(load(&loaders(ctx)?.teams, opportunity)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|m| Fast(TeamMember(m)))
        .collect())
}

/// A person working a deal.
pub struct TeamMember(pub Arc<team_members::Model>);

#[Object(serial)]
impl TeamMember {
    /// The member's id (for `updateTeamMember` and `removeTeamMember`).
    async fn id(&self) -> ID {
        ids::encode(Kind::TeamMember, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Phone in international form.
    async fn phone(&self) -> &str {
        &self.0.phone
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Whether the member wants email notifications.
    async fn notify(&self) -> bool {
        self.0.notify
    }
}

/// A person in an invitation's terms (a frozen copy of the inviter's team).
#[derive(SimpleObject)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

/// The customer's contact person on an engagement.
#[derive(SimpleObject)]
pub struct CustomerContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The customer agreed to share the contact with Microsoft.
    pub consent: bool,
}

/// One organization's side of an engagement, as the viewer's organization sees it.
pub struct Opportunity(pub opportunities::Model);

#[Object]
impl Opportunity {
    /// The opportunity's global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Opportunity, self.0.id)
    }
    /// Outbound (originated) or inbound (invited).
    async fn direction(&self) -> Direction {
        direction_of(&self.0)
    }
    async fn stage(&self) -> Stage {
        stage_of(&self.0).into()
    }
    /// The engagement's deal type.
    async fn deal_type(&self, ctx: &Context<'_>) -> async_graphql::Result<DealType> {
        let e = engagement(ctx, self.0.engagement_id).await?;
        Ok(deal::DealType::parse(&e.deal_type)
            .unwrap_or(deal::DealType::Private)
            .into())
    }
    /// The help the originator wants from Microsoft.
    async fn help_wanted(&self, ctx: &Context<'_>) -> async_graphql::Result<HelpWanted> {
        let e = engagement(ctx, self.0.engagement_id).await?;
        Ok(deal::HelpWanted::parse(&e.help_wanted)
            .unwrap_or(deal::HelpWanted::None)
            .into())
    }
    async fn deal_name(&self) -> &str {
        &self.0.deal_name
    }
    /// Estimated value: a decimal string with the currency's minor units.
    async fn value(&self) -> Option<String> {
        money(self.0.value_e4, self.0.currency.as_deref())
    }
    /// ISO 4217 currency of `value`.
    async fn currency(&self) -> Option<&str> {
        self.0.currency.as_deref()
    }
    /// Estimated close date (a date, no time zone).
    async fn close_date(&self) -> Option<NaiveDate> {
        self.0.close_date
    }
    async fn crm_id(&self) -> Option<&str> {
        self.0.crm_id.as_deref()
    }
    async fn campaign_id(&self) -> Option<&str> {
        self.0.campaign_id.as_deref()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Give it back as `expectedVersion` to change the opportunity.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When it reached a terminal stage.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// Why it was lost or declined.
    async fn close_reason(&self) -> Option<CloseReason> {
        close_reason_of(self.0.close_reason.as_deref())
    }
    async fn close_notes(&self) -> Option<&str> {
        self.0.close_notes.as_deref()
    }
    /// When a received invitation's response window ends.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// The organization whose side this is.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Fast<Organization>> {
        load_org(ctx, self.0.organization_id).await.map(Fast)
    }
    /// The engagement's customer (fixed once the engagement exists).
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Fast<Customer>> {
        let e = engagement(ctx, self.0.engagement_id).await?;
        load(&loaders(ctx)?.customers, e.customer_id)
            .await?
            .map(|c| Fast(Customer(c)))
            .ok_or_else(|| internal("customer"))
    }
    /// The customer contact of the engagement.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<CustomerContact> {
        let e = engagement(ctx, self.0.engagement_id).await?;
        Ok(CustomerContact {
            name: e.contact_name.clone(),
            phone: e.contact_phone.clone(),
            email: e.contact_email.clone(),
            consent: e.contact_consent,
        })
    }
    /// Whether the contact can still change (not once Microsoft was invited).
    async fn contact_locked(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(engagement(ctx, self.0.engagement_id)
            .await?
            .microsoft_invited_at
            .is_some())
    }
    /// This organization's team.
    async fn team(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Fast<TeamMember>>> {
        team(ctx, self.0.id).await
    }
    /// The solutions on this side of the deal.
    async fn solutions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Fast<Solution>>> {
        Ok(load(&loaders(ctx)?.opportunity_solutions, self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|s| Fast(Solution(s)))
            .collect())
    }
    /// The other organizations' sides: organization, stage and team contacts, never
    /// their value, CRM ID, campaign ID or notes.
    async fn participants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Participant>> {
        Ok(load(&loaders(ctx)?.participants, self.0.engagement_id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|o| o.organization_id != self.0.organization_id)
            .map(Participant)
            .collect())
    }
    /// The engagement's invitations that this organization sent or received.
    async fn invitations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Fast<Invitation>>> {
        let org = self.0.organization_id;
        Ok(load(&loaders(ctx)?.invitations, self.0.engagement_id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i.inviter_organization_id == org || i.invitee_organization_id == org)
            .map(|i| Fast(Invitation(i)))
            .collect())
    }
    /// The deal's latest registration for Microsoft's review, if any.
    async fn registration(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::registration::DealRegistration>> {
        Ok(
            crate::service::registrations::latest(&app(ctx)?.db, self.0.id)
                .await
                .gql()?
                .map(super::registration::DealRegistration),
        )
    }
    /// Whether the deal can be registered now, and why (not).
    async fn registration_eligibility(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<super::registration::RegistrationEligibility> {
        let e =
            crate::service::registrations::eligibility_of(&app(ctx)?.db, &app(ctx)?.deps, &self.0)
                .await
                .gql()?;
        Ok(super::registration::RegistrationEligibility {
            eligible: e.is_eligible(),
            reasons: vec![e.reason().to_owned()],
        })
    }
    /// Whether the viewer bookmarked it.
    async fn is_favorite(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let v = viewer(ctx).await?;
        Ok(load(&loaders(ctx)?.favorites, (v.user_id, self.0.id))
            .await?
            .unwrap_or(false))
    }
    /// The actions the viewer may take now; a front end offers exactly these.
    async fn available_actions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<OpportunityAction>> {
        let v = viewer(ctx).await?;
        let l = loaders(ctx)?;
        let e = engagement(ctx, self.0.engagement_id).await?;
        let team = load(&l.teams, self.0.id).await?.unwrap_or_default();
        let sols = load(&l.opportunity_solutions, self.0.id)
            .await?
            .unwrap_or_default();
        let all = load(&l.participants, self.0.engagement_id)
            .await?
            .unwrap_or_default();
        let mut microsoft_open = false;
        for o in all.iter().filter(|o| stage_of(o).is_open()) {
            let org = load_org(ctx, o.organization_id).await?;
            if org_kind(&org.0) == OrgKind::Microsoft {
                microsoft_open = true;
            }
        }
        let now = app(ctx)?.deps.clock.now();
        let offers: Vec<Offer> = available_actions(OfferCase {
            stage: stage_of(&self.0),
            direction: D::parse(&self.0.direction).unwrap_or(D::Inbound),
            deal_type: deal::DealType::parse(&e.deal_type).unwrap_or(deal::DealType::Private),
            viewer_kind: v.organization_kind,
            window_open: self.0.expires_at.is_none_or(|end| now < end),
            team_size: team.len(),
            solution_count: sols.len(),
            microsoft_holds_open_place: microsoft_open,
            contact_consented: e.contact_consent && e.contact_name.is_some(),
            registrable: self.0.stage == "WON"
                && crate::service::registrations::eligibility_of(
                    &app(ctx)?.db,
                    &app(ctx)?.deps,
                    &self.0,
                )
                .await
                .gql()?
                .is_eligible(),
        });
        Ok(offers.into_iter().map(Into::into).collect())
    }
    /// The engagement's events this organization may see, newest first.
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(minimum = 0, maximum = 100))] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Event, ConnectionFields>> {
        let limit = first.unwrap_or(20).max(0) as usize;
        let before = match after {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                AppError::from(UserError::new(
                    UserErrorCode::BadUserInput,
                    "after is not a valid cursor",
                    &["after"],
                ))
                .into_graphql()
            })?),
        };
        let (rows, more, total) = timeline(
            &app(ctx)?.db,
            self.0.organization_id,
            self.0.engagement_id,
            before,
            limit,
        )
        .await
        .gql()?;
        let mut conn = Connection::with_additional_fields(
            before.is_some(),
            more,
            ConnectionFields { total_count: total },
        );
        conn.edges.extend(
            rows.into_iter()
                .map(|e| Edge::new(e.seq.to_string(), Event(e))),
        );
        Ok(conn)
    }
}

/// Another organization's side of the engagement: who, where it stands, who works it.
pub struct Participant(pub Arc<opportunities::Model>);

#[Object]
impl Participant {
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Fast<Organization>> {
        load_org(ctx, self.0.organization_id).await.map(Fast)
    }
    async fn stage(&self) -> Stage {
        stage_of(&self.0).into()
    }
    async fn direction(&self) -> Direction {
        direction_of(&self.0)
    }
    /// Its team's contacts (teams collaborate).
    async fn team(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Fast<TeamMember>>> {
        team(ctx, self.0.id).await
    }
}

/// A request from one organization to another to join an engagement, with the terms
/// proposed. Visible in full to both sides.
pub struct Invitation(pub Arc<invitations::Model>);

#[Object]
impl Invitation {
    /// The invitation's global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Invitation, self.0.id)
    }
    async fn inviter_organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Fast<Organization>> {
        load_org(ctx, self.0.inviter_organization_id)
            .await
            .map(Fast)
    }
    /// The user who sent it.
    async fn inviter_user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        Ok(load(&loaders(ctx)?.users, self.0.inviter_user_id)
            .await?
            .map(|u| Contact {
                name: u.name.clone(),
                phone: u.phone.clone().unwrap_or_default(),
                email: u.email.clone(),
            }))
    }
    async fn invitee_organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Fast<Organization>> {
        load_org(ctx, self.0.invitee_organization_id)
            .await
            .map(Fast)
    }
    /// Proposed close date.
    async fn close_date(&self) -> Option<NaiveDate> {
        self.0.close_date
    }
    /// Proposed value of the invitee's part, as a decimal string.
    async fn value(&self) -> Option<String> {
        money(self.0.value_e4, self.0.currency.as_deref())
    }
    async fn currency(&self) -> Option<&str> {
        self.0.currency.as_deref()
    }
    /// Why the invitee is invited.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    async fn help_wanted(&self) -> HelpWanted {
        help_wanted_of(&self.0)
    }
    /// The inviter's team working with the invitee.
    async fn team(&self) -> Vec<Contact> {
        serde_json::from_value::<Vec<crate::service::deal_input::TeamMember>>(self.0.team.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|m| Contact {
                name: m.name,
                phone: m.phone,
                email: m.email,
            })
            .collect()
    }
    /// The solutions the invitee should bring.
    async fn solutions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Fast<Solution>>> {
        let ids: Vec<Uuid> =
            serde_json::from_value(self.0.solution_ids.clone()).unwrap_or_default();
        let mut out = Vec::new();
        for id in ids {
            if let Some(s) = load(&loaders(ctx)?.solutions, id).await? {
                out.push(Fast(Solution(s)));
            }
        }
        Ok(out)
    }
    async fn status(&self) -> InvitationStatus {
        status_of(&self.0)
    }
    async fn sent_at(&self) -> DateTime<Utc> {
        self.0.sent_at
    }
    /// The end of the response window.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.0.answered_at
    }
    async fn decline_reason(&self) -> Option<CloseReason> {
        close_reason_of(self.0.decline_reason.as_deref())
    }
    async fn decline_notes(&self) -> Option<&str> {
        self.0.decline_notes.as_deref()
    }
}

/// One entry of the event log.
pub struct Event(pub events::Model);

#[Object]
impl Event {
    /// The event's global sequence number, as a string: its cursor.
    async fn cursor(&self) -> String {
        self.0.seq.to_string()
    }
    async fn kind(&self) -> async_graphql::Result<EventKind> {
        event::EventKind::parse(&self.0.kind)
            .map(Into::into)
            .ok_or_else(|| internal("event kind"))
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// The organization whose user acted (none for the server's own sweeps).
    async fn actor_organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        match self.0.actor_organization_id {
            Some(id) => load_org(ctx, id).await.map(Some),
            None => Ok(None),
        }
    }
    /// The opportunity the event is about, as a global id.
    async fn opportunity_id(&self) -> Option<ID> {
        self.0
            .opportunity_id
            .map(|id| ids::encode(Kind::Opportunity, id))
    }
    /// Details: changed fields, old and new deal type, reasons.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
}

// The fields each type's resolvers above answer from the row alone, answered in place
// on a page (`super::plain`); `tests/api/queries.rs` checks both give the same answer.
impl PlainFields for Opportunity {
    const SERIAL: bool = false;

    fn plain(&self, field: &str) -> Option<Value> {
        let m = &self.0;
        Some(match field {
            "id" => scalar(&ids::encode(Kind::Opportunity, m.id)),
            "direction" => enumerated(direction_of(m)),
            "stage" => enumerated(Stage::from(stage_of(m))),
            "dealName" => text(&m.deal_name),
            "value" => money(m.value_e4, m.currency.as_deref()).map_or(Value::Null, Value::String),
            "currency" => opt_text(m.currency.as_deref()),
            "closeDate" => opt_scalar(m.close_date.as_ref()),
            "crmId" => opt_text(m.crm_id.as_deref()),
            "campaignId" => opt_text(m.campaign_id.as_deref()),
            "notes" => opt_text(m.notes.as_deref()),
            "version" => Value::from(m.version),
            "createdAt" => scalar(&m.created_at),
            "updatedAt" => scalar(&m.updated_at),
            "closedAt" => opt_scalar(m.closed_at.as_ref()),
            "closeReason" => opt_enumerated(close_reason_of(m.close_reason.as_deref())),
            "closeNotes" => opt_text(m.close_notes.as_deref()),
            "expiresAt" => opt_scalar(m.expires_at.as_ref()),
            _ => return None,
        })
    }
}

impl PlainFields for Invitation {
    const SERIAL: bool = false;

    fn plain(&self, field: &str) -> Option<Value> {
        let m = &self.0;
        Some(match field {
            "id" => scalar(&ids::encode(Kind::Invitation, m.id)),
            "closeDate" => opt_scalar(m.close_date.as_ref()),
            "value" => money(m.value_e4, m.currency.as_deref()).map_or(Value::Null, Value::String),
            "currency" => opt_text(m.currency.as_deref()),
            "notes" => opt_text(m.notes.as_deref()),
            "helpWanted" => enumerated(help_wanted_of(m)),
            "status" => enumerated(status_of(m)),
            "sentAt" => scalar(&m.sent_at),
            "expiresAt" => scalar(&m.expires_at),
            "answeredAt" => opt_scalar(m.answered_at.as_ref()),
            "declineReason" => opt_enumerated(close_reason_of(m.decline_reason.as_deref())),
            "declineNotes" => opt_text(m.decline_notes.as_deref()),
            _ => return None,
        })
    }
}

impl PlainFields for TeamMember {
    const SERIAL: bool = true;

    fn plain(&self, field: &str) -> Option<Value> {
        let m = &self.0;
        Some(match field {
            "id" => scalar(&ids::encode(Kind::TeamMember, m.id)),
            "name" => text(&m.name),
            "phone" => text(&m.phone),
            "email" => text(&m.email),
            "notify" => Value::Boolean(m.notify),
            _ => return None,
        })
    }
}
