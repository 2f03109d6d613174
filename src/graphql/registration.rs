//! Deal registration: its type, its mutations, and the reviewers' list.
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::deal_registrations;
use uuid::Uuid;

use super::context::{app, loaders, viewer};
use super::deal_types::Opportunity;
use super::ids::{self, Kind, uuid_or_nil};
use super::loaders::load;
use super::mutation::payload;
use super::types::{Customer, Solution};
use crate::domain::registration::{RegistrationStatus as DomainStatus, ReviewAction};
use crate::domain::values::Money;
use crate::error::{GqlResult, UserError};
use crate::service::registrations::{self, NewRegistration};

/// Where a deal registration stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::registration::RegistrationStatus")]
pub enum RegistrationStatus {
    Submitted,
    InfoRequested,
    Approved,
    Rejected,
    Withdrawn,
}

/// A won deal registered for Microsoft's review.
pub struct DealRegistration(pub deal_registrations::Model);

#[Object]
impl DealRegistration {
    async fn id(&self) -> ID {
        ids::encode(Kind::Registration, self.0.id)
    }
    async fn status(&self) -> RegistrationStatus {
        DomainStatus::parse(&self.0.status)
            .unwrap_or(DomainStatus::Withdrawn)
            .into()
    }
    /// Give it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn purchase_date(&self) -> NaiveDate {
        self.0.purchase_date
    }
    /// Contract value, a decimal string.
    async fn value(&self) -> String {
        Money::format_e4(self.0.value_e4, Some(&self.0.currency))
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Links to supporting documents.
    async fn links(&self) -> Vec<String> {
        serde_json::from_value(self.0.links.clone()).unwrap_or_default()
    }
    /// The reviewer's question, when information was requested.
    async fn question(&self) -> Option<&str> {
        self.0.question.as_deref()
    }
    async fn answer(&self) -> Option<&str> {
        self.0.answer.as_deref()
    }
    /// Why it was rejected (or a note on the approval).
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The eligible solutions sold.
    async fn solutions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Solution>> {
        let ids: Vec<Uuid> =
            serde_json::from_value(self.0.solution_ids.clone()).unwrap_or_default();
        let mut out = Vec::new();
        for id in ids {
            if let Some(s) = load(&loaders(ctx)?.solutions, id).await? {
                out.push(Solution(s));
            }
        }
        Ok(out)
    }
    /// The customer's purchasing entity.
    async fn purchasing_customer(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Customer>> {
        Ok(
            load(&loaders(ctx)?.customers, self.0.purchasing_customer_id)
                .await?
                .map(Customer),
        )
    }
    /// The won opportunity registered.
    async fn opportunity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Opportunity>> {
        let v = viewer(ctx).await?;
        Ok(
            crate::store::deals::opportunity(&app(ctx)?.db, self.0.opportunity_id)
                .await
                .gql()?
                .filter(|o| o.organization_id == v.organization_id)
                .map(Opportunity),
        )
    }
}

/// Why a deal can or cannot be registered now.
#[derive(SimpleObject)]
pub struct RegistrationEligibility {
    pub eligible: bool,
    /// Why (not): each rule that decides it.
    pub reasons: Vec<String>,
}

#[derive(InputObject)]
pub struct RegisterDealInput {
    /// The won opportunity.
    pub opportunity_id: ID,
    /// The registration-eligible solutions sold.
    #[graphql(validator(max_items = 50))]
    pub solution_ids: Vec<ID>,
    pub purchase_date: NaiveDate,
    /// Contract value, a decimal string.
    pub value: String,
    pub currency: String,
    /// The customer's purchasing entity; the deal's customer when omitted.
    pub purchasing_customer_id: Option<ID>,
    pub notes: Option<String>,
    /// Links to supporting documents (http or https).
    #[graphql(validator(max_items = 10))]
    pub links: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct RegistrationStepInput {
    pub registration_id: ID,
    pub expected_version: Option<i32>,
    /// The question (requestRegistrationInfo), answer (answerRegistrationInfo) or reason
    /// (rejectRegistration; a note on approveRegistration).
    pub text: Option<String>,
}

#[derive(SimpleObject)]
pub struct RegistrationPayload {
    pub registration: Option<DealRegistration>,
    pub user_errors: Vec<UserError>,
}

fn reg_payload(
    r: Result<deal_registrations::Model, crate::error::AppError>,
) -> async_graphql::Result<RegistrationPayload> {
    let (registration, user_errors) = payload(r)?;
    Ok(RegistrationPayload {
        registration: registration.map(DealRegistration),
        user_errors,
    })
}

#[derive(Default)]
pub struct RegistrationMutation;

async fn step(
    ctx: &Context<'_>,
    input: RegistrationStepInput,
    action: ReviewAction,
) -> async_graphql::Result<RegistrationPayload> {
    let v = viewer(ctx).await?;
    reg_payload(
        registrations::step(
            &app(ctx)?.deps,
            v,
            uuid_or_nil(&input.registration_id, Kind::Registration),
            action,
            input.text,
            input.expected_version,
        )
        .await,
    )
}

#[Object]
impl RegistrationMutation {
    /// Registers a won deal with eligible solutions for Microsoft's review, within the
    /// period after the win.
    async fn register_deal(
        &self,
        ctx: &Context<'_>,
        input: RegisterDealInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        let v = viewer(ctx).await?;
        let n = NewRegistration {
            opportunity: uuid_or_nil(&input.opportunity_id, Kind::Opportunity),
            solution_ids: input
                .solution_ids
                .iter()
                .map(|s| uuid_or_nil(s, Kind::Solution))
                .collect(),
            purchase_date: Some(input.purchase_date),
            value: input.value,
            currency: input.currency,
            purchasing_customer: input
                .purchasing_customer_id
                .map(|c| uuid_or_nil(&c, Kind::Customer)),
            notes: input.notes,
            links: input.links.unwrap_or_default(),
        };
        reg_payload(registrations::register(&app(ctx)?.deps, v, n).await)
    }
    /// A reviewer asks the partner a question (`text`).
    async fn request_registration_info(
        &self,
        ctx: &Context<'_>,
        input: RegistrationStepInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        step(ctx, input, ReviewAction::RequestInfo).await
    }
    /// The partner answers the reviewer's question (`text`).
    async fn answer_registration_info(
        &self,
        ctx: &Context<'_>,
        input: RegistrationStepInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        step(ctx, input, ReviewAction::Answer).await
    }
    /// A reviewer approves.
    async fn approve_registration(
        &self,
        ctx: &Context<'_>,
        input: RegistrationStepInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        step(ctx, input, ReviewAction::Approve).await
    }
    /// A reviewer rejects, with a reason (`text`).
    async fn reject_registration(
        &self,
        ctx: &Context<'_>,
        input: RegistrationStepInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        step(ctx, input, ReviewAction::Reject).await
    }
    /// The partner withdraws before a decision.
    async fn withdraw_registration(
        &self,
        ctx: &Context<'_>,
        input: RegistrationStepInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        step(ctx, input, ReviewAction::Withdraw).await
    }
}

#[derive(Default)]
pub struct RegistrationQuery;

#[Object]
impl RegistrationQuery {
    /// Deal registrations for Microsoft's reviewers, oldest first.
    async fn deal_registrations(
        &self,
        ctx: &Context<'_>,
        status: Option<RegistrationStatus>,
        #[graphql(validator(minimum = 1, maximum = 100))] first: Option<i32>,
    ) -> async_graphql::Result<Vec<DealRegistration>> {
        let v = viewer(ctx).await?;
        let rows = registrations::for_review(
            &app(ctx)?.db,
            v,
            status.map(Into::into),
            first.unwrap_or(20) as u64,
        )
        .await
        .gql()?;
        Ok(rows.into_iter().map(DealRegistration).collect())
    }
}
