//! Mutations of deals. Each takes one `input` and returns a payload with the result and
//! `userErrors`; any user error means nothing was written. State-changing ones take an
//! optional `expectedVersion` (`CONFLICT` when the opportunity moved on).
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::NaiveDate;

use super::context::{app, viewer};
use super::deal_types::{CloseReason, HelpWanted, Invitation, Opportunity};
use super::ids::{Kind, uuid_or_nil};
use super::mutation::{CreateCustomerInput, payload};
use crate::domain::deal;
use crate::service::deal_input::{ContactIn, TeamMemberIn, TermsIn};
use crate::service::deals::{self, InviteIn, NewDeal, SendInvitation};
use crate::service::opportunities::{self as opps, DetailsIn, TeamChange};

#[derive(Default)]
pub struct DealMutation;

/// A team member: name, phone (international form) and email are required.
#[derive(InputObject, Clone)]
pub struct TeamMemberInput {
    pub name: String,
    pub phone: String,
    pub email: String,
    /// Whether the member wants email notifications (default true).
    pub notify: Option<bool>,
}

impl From<TeamMemberInput> for TeamMemberIn {
    fn from(m: TeamMemberInput) -> Self {
        TeamMemberIn {
            name: m.name,
            phone: m.phone,
            email: m.email,
            notify: m.notify,
        }
    }
}

fn team_in(t: Vec<TeamMemberInput>) -> Vec<TeamMemberIn> {
    t.into_iter().map(Into::into).collect()
}

fn ids_of(ids: Vec<ID>, kind: Kind) -> Vec<uuid::Uuid> {
    ids.iter().map(|i| uuid_or_nil(i, kind)).collect()
}

/// The customer's contact person; required, with consent, before Microsoft is invited.
#[derive(InputObject)]
pub struct CustomerContactInput {
    pub name: String,
    pub phone: String,
    pub email: String,
    /// The customer agrees to share the contact with Microsoft.
    pub consent: bool,
}

impl From<CustomerContactInput> for ContactIn {
    fn from(c: CustomerContactInput) -> Self {
        ContactIn {
            name: c.name,
            phone: c.phone,
            email: c.email,
            consent: c.consent,
        }
    }
}

/// The terms proposed to an invitee. Omitted parts default to the inviting deal's own
/// close date, value, team and solutions.
#[derive(InputObject, Default)]
pub struct InvitationTermsInput {
    pub close_date: Option<NaiveDate>,
    /// Value of the invitee's part, a decimal string.
    pub value: Option<String>,
    pub currency: Option<String>,
    /// Why the organization is invited.
    pub notes: Option<String>,
    /// The inviter's team working with the invitee.
    #[graphql(validator(max_items = 50))]
    pub team: Option<Vec<TeamMemberInput>>,
    /// The solutions the invitee should bring (co-sell ready).
    #[graphql(validator(max_items = 50))]
    pub solution_ids: Option<Vec<ID>>,
    /// The help wanted (required, not `NONE`, when inviting Microsoft).
    pub help_wanted: Option<HelpWanted>,
}

impl From<InvitationTermsInput> for TermsIn {
    fn from(t: InvitationTermsInput) -> Self {
        TermsIn {
            close_date: t.close_date,
            value: t.value,
            currency: t.currency,
            notes: t.notes,
            team: t.team.map(team_in),
            solution_ids: t.solution_ids.map(|i| ids_of(i, Kind::Solution)),
            help_wanted: t.help_wanted.map(Into::into),
        }
    }
}

/// An organization to invite from the deal wizard.
#[derive(InputObject)]
pub struct InvitationRequestInput {
    pub organization_id: ID,
    pub terms: Option<InvitationTermsInput>,
}

/// The deal wizard, in one mutation.
#[derive(InputObject)]
pub struct CreateDealInput {
    /// An existing customer...
    pub customer_id: Option<ID>,
    /// ...or a new one (exactly one of the two).
    pub new_customer: Option<CreateCustomerInput>,
    pub contact: Option<CustomerContactInput>,
    pub deal_name: String,
    /// Estimated value, a decimal string with at most the currency's minor units.
    pub value: Option<String>,
    /// ISO 4217 currency of the value.
    pub currency: Option<String>,
    /// Estimated close date, not in the past.
    pub close_date: Option<NaiveDate>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
    pub notes: Option<String>,
    /// At least one member.
    #[graphql(validator(max_items = 50))]
    pub team: Vec<TeamMemberInput>,
    /// At least one co-sell-ready solution.
    #[graphql(validator(max_items = 50))]
    pub solution_ids: Vec<ID>,
    /// Anything but `NONE` invites Microsoft and makes the deal co-sell.
    pub help_wanted: Option<HelpWanted>,
    /// Partners to invite, with their terms.
    #[graphql(validator(max_items = 50))]
    pub invitations: Option<Vec<InvitationRequestInput>>,
    /// Repeating the call with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

/// Sends an invitation from one of the viewer's accepted opportunities.
#[derive(InputObject)]
pub struct SendInvitationInput {
    /// The inviting (viewer's) opportunity.
    pub opportunity_id: ID,
    /// The organization to invite: Microsoft or a co-sell-ready partner.
    pub organization_id: ID,
    pub terms: Option<InvitationTermsInput>,
    pub expected_version: Option<i32>,
    pub idempotency_key: Option<String>,
}

/// Accepts a received invitation, confirming or setting the details.
#[derive(InputObject)]
pub struct AcceptInvitationInput {
    pub opportunity_id: ID,
    pub expected_version: Option<i32>,
    pub deal_name: Option<String>,
    pub value: Option<String>,
    pub currency: Option<String>,
    pub close_date: Option<NaiveDate>,
    pub notes: Option<String>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
    /// The organization's own team; the accepting user alone when omitted.
    #[graphql(validator(max_items = 50))]
    pub team: Option<Vec<TeamMemberInput>>,
}

#[derive(InputObject)]
pub struct DeclineInvitationInput {
    pub opportunity_id: ID,
    pub expected_version: Option<i32>,
    pub reason: CloseReason,
    pub notes: Option<String>,
}

/// Changes the details of an accepted opportunity; omitted fields stay. The customer
/// is fixed and cannot be changed.
#[derive(InputObject)]
pub struct UpdateOpportunityInput {
    pub opportunity_id: ID,
    pub expected_version: Option<i32>,
    pub deal_name: Option<String>,
    pub value: Option<String>,
    pub currency: Option<String>,
    pub close_date: Option<NaiveDate>,
    pub notes: Option<String>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
    /// The customer contact: the originator's, until Microsoft is invited.
    pub contact: Option<CustomerContactInput>,
}

#[derive(InputObject)]
pub struct AddTeamMemberInput {
    pub opportunity_id: ID,
    pub expected_version: Option<i32>,
    pub member: TeamMemberInput,
}

#[derive(InputObject)]
pub struct UpdateTeamMemberInput {
    pub opportunity_id: ID,
    pub team_member_id: ID,
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub notify: Option<bool>,
}

#[derive(InputObject)]
pub struct RemoveTeamMemberInput {
    pub opportunity_id: ID,
    pub team_member_id: ID,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct SolutionChangeInput {
    pub opportunity_id: ID,
    pub solution_id: ID,
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct MarkWonInput {
    pub opportunity_id: ID,
    pub expected_version: Option<i32>,
    pub notes: Option<String>,
}

#[derive(InputObject)]
pub struct MarkLostInput {
    pub opportunity_id: ID,
    pub expected_version: Option<i32>,
    pub reason: CloseReason,
    pub notes: Option<String>,
}

#[derive(InputObject)]
pub struct SetFavoriteInput {
    pub opportunity_id: ID,
    /// On or off.
    pub favorite: bool,
}

/// The result of a mutation on an opportunity.
#[derive(SimpleObject)]
pub struct OpportunityPayload {
    /// The opportunity as it is now; `null` when there are user errors.
    pub opportunity: Option<Opportunity>,
    pub user_errors: Vec<crate::error::UserError>,
}

/// The result of `sendInvitation`.
#[derive(SimpleObject)]
pub struct SendInvitationPayload {
    /// The invitation sent; `null` when there are user errors.
    pub invitation: Option<Invitation>,
    pub user_errors: Vec<crate::error::UserError>,
}

fn opp_payload(
    r: Result<entity::opportunities::Model, crate::error::AppError>,
) -> async_graphql::Result<OpportunityPayload> {
    let (opportunity, user_errors) = payload(r)?;
    Ok(OpportunityPayload {
        opportunity: opportunity.map(Opportunity),
        user_errors,
    })
}

fn opp_id(id: &ID) -> uuid::Uuid {
    uuid_or_nil(id, Kind::Opportunity)
}

#[Object]
impl DealMutation {
    /// Creates a deal: customer, contact, details, team, solutions, help wanted from
    /// Microsoft, and partners to invite. `PRIVATE` unless someone is invited;
    /// Microsoft's own deals are `CO_SELL` from the start.
    async fn create_deal(
        &self,
        ctx: &Context<'_>,
        input: CreateDealInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let new = NewDeal {
            customer_id: input.customer_id.map(|i| uuid_or_nil(&i, Kind::Customer)),
            new_customer: input.new_customer.map(Into::into),
            contact: input.contact.map(Into::into),
            deal_name: input.deal_name,
            value: input.value,
            currency: input.currency,
            close_date: input.close_date,
            crm_id: input.crm_id,
            campaign_id: input.campaign_id,
            notes: input.notes,
            team: team_in(input.team),
            solution_ids: ids_of(input.solution_ids, Kind::Solution),
            help_wanted: input.help_wanted.map(Into::into),
            invitations: input
                .invitations
                .unwrap_or_default()
                .into_iter()
                .map(|i| InviteIn {
                    organization_id: uuid_or_nil(&i.organization_id, Kind::Organization),
                    terms: i.terms.map(Into::into).unwrap_or_default(),
                })
                .collect(),
            idempotency_key: input.idempotency_key,
        };
        opp_payload(deals::create_deal(&app(ctx)?.deps, v, new).await)
    }

    /// Invites Microsoft or a partner into the engagement of one of the viewer's
    /// accepted opportunities, with terms. Who may invite whom follows SPEC §6.
    async fn send_invitation(
        &self,
        ctx: &Context<'_>,
        input: SendInvitationInput,
    ) -> async_graphql::Result<SendInvitationPayload> {
        let v = viewer(ctx).await?;
        let send = SendInvitation {
            opportunity_id: opp_id(&input.opportunity_id),
            organization_id: uuid_or_nil(&input.organization_id, Kind::Organization),
            terms: input.terms.map(Into::into).unwrap_or_default(),
            expected_version: input.expected_version,
            idempotency_key: input.idempotency_key,
        };
        let (invitation, user_errors) =
            payload(deals::send_invitation(&app(ctx)?.deps, v, send).await)?;
        Ok(SendInvitationPayload {
            invitation: invitation.map(Invitation::from),
            user_errors,
        })
    }

    /// Accepts a received invitation (before its window ends).
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let details = DetailsIn {
            deal_name: input.deal_name,
            value: input.value,
            currency: input.currency,
            close_date: input.close_date,
            notes: input.notes,
            crm_id: input.crm_id,
            campaign_id: input.campaign_id,
        };
        opp_payload(
            opps::accept(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                details,
                input.team.map(team_in),
            )
            .await,
        )
    }

    /// Declines a received invitation with a reason (before its window ends).
    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        input: DeclineInvitationInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        opp_payload(
            opps::decline(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                input.reason.into(),
                input.notes,
            )
            .await,
        )
    }

    /// Edits an accepted opportunity's details (and the originator's customer contact
    /// until Microsoft is invited).
    async fn update_opportunity(
        &self,
        ctx: &Context<'_>,
        input: UpdateOpportunityInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let details = DetailsIn {
            deal_name: input.deal_name,
            value: input.value,
            currency: input.currency,
            close_date: input.close_date,
            notes: input.notes,
            crm_id: input.crm_id,
            campaign_id: input.campaign_id,
        };
        opp_payload(
            opps::update(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                details,
                input.contact.map(Into::into),
            )
            .await,
        )
    }

    /// Adds a member to an accepted opportunity's team.
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        input: AddTeamMemberInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let change = TeamChange::Add(input.member.into());
        opp_payload(
            opps::change_team(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                change,
            )
            .await,
        )
    }

    /// Changes a team member of an accepted opportunity.
    async fn update_team_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateTeamMemberInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let change = TeamChange::Update {
            member: uuid_or_nil(&input.team_member_id, Kind::TeamMember),
            name: input.name,
            phone: input.phone,
            email: input.email,
            notify: input.notify,
        };
        opp_payload(
            opps::change_team(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                change,
            )
            .await,
        )
    }

    /// Removes a team member of an accepted opportunity; the last one stays.
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveTeamMemberInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let change = TeamChange::Remove(uuid_or_nil(&input.team_member_id, Kind::TeamMember));
        opp_payload(
            opps::change_team(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                change,
            )
            .await,
        )
    }

    /// Adds a co-sell-ready solution to an accepted opportunity.
    async fn add_solution(
        &self,
        ctx: &Context<'_>,
        input: SolutionChangeInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let sol = uuid_or_nil(&input.solution_id, Kind::Solution);
        opp_payload(
            opps::change_solution(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                sol,
                true,
            )
            .await,
        )
    }

    /// Removes a solution from an accepted opportunity; the last one stays.
    async fn remove_solution(
        &self,
        ctx: &Context<'_>,
        input: SolutionChangeInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let sol = uuid_or_nil(&input.solution_id, Kind::Solution);
        opp_payload(
            opps::change_solution(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                sol,
                false,
            )
            .await,
        )
    }

    /// Closes the viewer's own side as won.
    async fn mark_won(
        &self,
        ctx: &Context<'_>,
        input: MarkWonInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        opp_payload(
            opps::close(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                None,
                input.notes,
            )
            .await,
        )
    }

    /// Closes the viewer's own side as lost, with a reason.
    async fn mark_lost(
        &self,
        ctx: &Context<'_>,
        input: MarkLostInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        let reason: deal::CloseReason = input.reason.into();
        opp_payload(
            opps::close(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.expected_version,
                Some(reason),
                input.notes,
            )
            .await,
        )
    }

    /// Bookmarks an opportunity the viewer sees (any stage), or removes the bookmark.
    async fn set_favorite(
        &self,
        ctx: &Context<'_>,
        input: SetFavoriteInput,
    ) -> async_graphql::Result<OpportunityPayload> {
        let v = viewer(ctx).await?;
        opp_payload(
            opps::set_favorite(
                &app(ctx)?.deps,
                v,
                opp_id(&input.opportunity_id),
                input.favorite,
            )
            .await,
        )
    }
}
