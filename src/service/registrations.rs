//! Deal registration after a win (SPEC §5): the partner registers a won deal with
//! eligible solutions within the period; Microsoft's reviewers ask, approve or reject;
//! the partner answers or withdraws. Every step is an event for the partner, the
//! reviewers, and Microsoft's other users only where Microsoft is on the deal, and an
//! email to the partner's team and the reviewers (none to who turned notifications off);
//! decided registrations are immutable.
use chrono::NaiveDate;
use entity::{deal_registrations, email_outbox, opportunities, users};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::deal_input as input;
use super::deals::visible;
use super::events::{self, EventDraft};
use super::opportunities::load_visible;
use super::{Checks, Deps, path};
use crate::domain::event::EventKind;
use crate::domain::registration::{
    Eligibility, RegistrationStatus, ReviewAction, eligibility, review,
};
use crate::domain::values::Website;
use crate::domain::{Role, Viewer};
use crate::email::templates::{Facts, MailKind, render};
use crate::error::{AppError, UserError, UserErrorCode};
use crate::store::{deals as store, directory};

/// The latest registration of an opportunity.
pub async fn latest<C: ConnectionTrait>(
    db: &C,
    opportunity: Uuid,
) -> Result<Option<deal_registrations::Model>, AppError> {
    Ok(deal_registrations::Entity::find()
        .filter(deal_registrations::Column::OpportunityId.eq(opportunity))
        .order_by_desc(deal_registrations::Column::CreatedAt)
        .order_by_desc(deal_registrations::Column::Id)
        .one(db)
        .await?)
}

/// Whether `opp` can be registered now, and why not.
pub async fn eligibility_of<C: ConnectionTrait>(
    db: &C,
    deps: &Deps,
    opp: &opportunities::Model,
) -> Result<Eligibility, AppError> {
    let org = directory::organization(db, opp.organization_id).await?;
    let partner = org.is_some_and(|o| o.kind == "PARTNER");
    let won = (opp.stage == "WON").then_some(opp.closed_at).flatten();
    let eligible = store::solutions_of(db, &[opp.id])
        .await?
        .iter()
        .any(|(_, s)| s.registration_eligible);
    let last = latest(db, opp.id)
        .await?
        .and_then(|r| RegistrationStatus::parse(&r.status));
    Ok(eligibility(
        partner,
        won,
        eligible,
        last,
        deps.clock.now(),
        deps.registration_period,
    ))
}

/// A registration as the partner submits it.
#[derive(Debug, Clone, Default)]
pub struct NewRegistration {
    pub opportunity: Uuid,
    pub solution_ids: Vec<Uuid>,
    pub purchase_date: Option<NaiveDate>,
    pub value: String,
    pub currency: String,
    pub purchasing_customer: Option<Uuid>,
    pub notes: Option<String>,
    pub links: Vec<String>,
}

pub async fn register(
    deps: &Deps,
    viewer: &Viewer,
    n: NewRegistration,
) -> Result<deal_registrations::Model, AppError> {
    let now = deps.clock.now();
    let at = vec!["input".to_owned()];
    let mut c = Checks::default();
    let ids = input::solution_ids(&mut c, &path(&at, &["solutionIds"]), &n.solution_ids, true);
    let money = input::money(&mut c, &at, Some(&n.value), Some(&n.currency));
    if money.as_ref().is_some_and(|m| m.is_none()) {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "the contract value is required",
            &["input", "value"],
        ));
    }
    let notes = input::notes(&mut c, &at, n.notes.as_deref());
    match n.purchase_date {
        Some(d) if d > deps.clock.today() => c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "the purchase date is in the future",
            &["input", "purchaseDate"],
        )),
        None => c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "the purchase date is required",
            &["input", "purchaseDate"],
        )),
        _ => {}
    }
    if n.links.len() > 10 {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "at most 10 links",
            &["input", "links"],
        ));
    }
    let links: Vec<String> = n
        .links
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            c.take_at(path(&at, &["links", &i.to_string()]), Website::parse(l))
                .map(|w| w.as_str().to_owned())
        })
        .collect();
    c.finish()?;
    let (Some(Some(money)), Some(notes), Some(purchase_date)) = (money, notes, n.purchase_date)
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "checks passed without values"
        )));
    };

    let txn = deps.writes.begin().await?;
    let opp = load_visible(&txn, viewer, n.opportunity, &["input", "opportunityId"]).await?;
    match eligibility_of(&txn, deps, &opp).await? {
        Eligibility::Eligible => {}
        Eligibility::NotAPartner => {
            return Err(UserError::new(
                UserErrorCode::Forbidden,
                Eligibility::NotAPartner.reason(),
                &["input", "opportunityId"],
            )
            .into());
        }
        other => {
            return Err(UserError::new(
                UserErrorCode::InvalidTransition,
                other.reason(),
                &["input", "opportunityId"],
            )
            .into());
        }
    }
    let eligible: Vec<Uuid> = store::solutions_of(&txn, &[opp.id])
        .await?
        .into_iter()
        .filter(|(_, s)| s.registration_eligible)
        .map(|(_, s)| s.id)
        .collect();
    let wrong: Vec<UserError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !eligible.contains(id))
        .map(|(i, _)| {
            UserError::at(
                UserErrorCode::BadUserInput,
                "not a registration-eligible solution of this deal",
                path(&at, &["solutionIds", &i.to_string()]),
            )
        })
        .collect();
    if !wrong.is_empty() {
        return Err(AppError::User(wrong));
    }
    let engagement = store::engagement(&txn, opp.engagement_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("engagement missing")))?;
    let customer = match n.purchasing_customer {
        Some(id) => {
            if super::customers::get_in(&txn, id).await?.is_none() {
                return Err(
                    UserError::not_found("customer", &["input", "purchasingCustomerId"]).into(),
                );
            }
            id
        }
        None => engagement.customer_id,
    };
    let row = deal_registrations::Model {
        id: Uuid::now_v7(),
        opportunity_id: opp.id,
        organization_id: opp.organization_id,
        status: RegistrationStatus::Submitted.as_str().to_owned(),
        solution_ids: json!(ids),
        purchase_date,
        value_e4: money.to_e4(),
        currency: money.currency().code().to_owned(),
        purchasing_customer_id: customer,
        notes,
        links: json!(links),
        question: None,
        answer: None,
        decision_reason: None,
        decided_by_user_id: None,
        decided_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(&txn)
    .await?;
    announce(
        &txn,
        deps,
        viewer,
        &row,
        &opp,
        EventKind::RegistrationSubmitted,
    )
    .await?;
    txn.commit().await?;
    deps.bus.wake();
    Ok(row)
}

/// A registration the viewer may see: its partner side's users who see the deal, and
/// Microsoft's reviewers.
pub async fn get_visible<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<(deal_registrations::Model, opportunities::Model)>, AppError> {
    let Some(reg) = deal_registrations::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let Some(opp) = store::opportunity(db, reg.opportunity_id).await? else {
        return Ok(None);
    };
    if viewer.reviews_registrations() || visible(db, viewer, &opp).await? {
        Ok(Some((reg, opp)))
    } else {
        Ok(None)
    }
}

/// One step of the review.
pub async fn step(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    action: ReviewAction,
    text: Option<String>,
    expected: Option<i32>,
) -> Result<deal_registrations::Model, AppError> {
    let now = deps.clock.now();
    let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let needs_text = match action {
        ReviewAction::RequestInfo => Some("question"),
        ReviewAction::Answer => Some("answer"),
        ReviewAction::Reject => Some("reason"),
        _ => None,
    };
    if let Some(field) = needs_text {
        match &text {
            None => {
                return Err(UserError::new(
                    UserErrorCode::BadUserInput,
                    format!("{field} is required"),
                    &["input", field],
                )
                .into());
            }
            Some(t) if t.chars().count() > crate::domain::values::NOTES_MAX => {
                return Err(UserError::new(
                    UserErrorCode::BadUserInput,
                    format!("{field} is too long"),
                    &["input", field],
                )
                .into());
            }
            _ => {}
        }
    }
    let txn = deps.writes.begin().await?;
    let (reg, opp) = get_visible(&txn, viewer, id).await?.ok_or_else(|| {
        AppError::from(UserError::not_found(
            "registration",
            &["input", "registrationId"],
        ))
    })?;
    let partner_side = viewer.organization_id == reg.organization_id;
    if action.by_reviewer() != viewer.reviews_registrations()
        || (!action.by_reviewer() && !partner_side)
    {
        return Err(UserError::new(
            UserErrorCode::Forbidden,
            if action.by_reviewer() {
                "only Microsoft's registration reviewers decide"
            } else {
                "only the registering partner does this"
            },
            &["input", "registrationId"],
        )
        .into());
    }
    let status = RegistrationStatus::parse(&reg.status)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown status {}", reg.status)))?;
    let next = review(status, action).map_err(|e| {
        AppError::from(UserError::new(
            UserErrorCode::InvalidTransition,
            e.to_string(),
            &[],
        ))
    })?;
    if let Some(v) = expected
        && v != reg.version
    {
        return Err(UserError::new(
            UserErrorCode::Conflict,
            format!("the registration changed: version is {}", reg.version),
            &["input", "expectedVersion"],
        )
        .into());
    }
    let mut m = deal_registrations::ActiveModel {
        status: Set(next.as_str().to_owned()),
        updated_at: Set(now),
        ..Default::default()
    };
    match action {
        ReviewAction::RequestInfo => m.question = Set(text.clone()),
        ReviewAction::Answer => m.answer = Set(text.clone()),
        ReviewAction::Reject | ReviewAction::Approve => {
            m.decision_reason = Set(text.clone());
            m.decided_by_user_id = Set(Some(viewer.user_id));
            m.decided_at = Set(Some(now));
        }
        ReviewAction::Withdraw => {}
    }
    let res = deal_registrations::Entity::update_many()
        .set(m)
        .col_expr(
            deal_registrations::Column::Version,
            Expr::col(deal_registrations::Column::Version).add(1),
        )
        .filter(deal_registrations::Column::Id.eq(reg.id))
        .filter(deal_registrations::Column::Version.eq(reg.version))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(UserError::new(
            UserErrorCode::Conflict,
            "the registration changed at the same moment",
            &["input", "expectedVersion"],
        )
        .into());
    }
    let row = deal_registrations::Entity::find_by_id(reg.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("registration vanished")))?;
    let kind = match action {
        ReviewAction::RequestInfo => EventKind::RegistrationInfoRequested,
        ReviewAction::Answer => EventKind::RegistrationAnswered,
        ReviewAction::Approve => EventKind::RegistrationApproved,
        ReviewAction::Reject => EventKind::RegistrationRejected,
        ReviewAction::Withdraw => EventKind::RegistrationWithdrawn,
    };
    announce(&txn, deps, viewer, &row, &opp, kind).await?;
    txn.commit().await?;
    deps.bus.wake();
    Ok(row)
}

/// The event and the emails (to the partner's team on the deal and Microsoft's
/// reviewers, less whoever turned notifications off) of a registration step. The event
/// is shown to the partner, and to Microsoft only where it has an opportunity in the
/// engagement, as for every other event: Microsoft sees nothing of an engagement it was
/// not invited to. Its reviewers get the event whatever its audience
/// ([`crate::domain::access::sees_event`]).
async fn announce(
    txn: &DatabaseTransaction,
    deps: &Deps,
    viewer: &Viewer,
    reg: &deal_registrations::Model,
    opp: &opportunities::Model,
    kind: EventKind,
) -> Result<(), AppError> {
    let now = deps.clock.now();
    let ms = directory::microsoft(txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no Microsoft organization")))?;
    let partner = directory::organization(txn, reg.organization_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("partner missing")))?;
    let engagement = store::engagement(txn, opp.engagement_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("engagement missing")))?;
    let customer = super::customers::get_in(txn, engagement.customer_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    let team = store::teams(txn, &[opp.id]).await?;
    let emails: Vec<String> = team.iter().map(|m| m.email.clone()).collect();
    let muted = super::notify::muted_emails(txn, &emails).await?;
    let team: Vec<(String, String, Uuid)> = team
        .into_iter()
        .filter(|m| m.notify && !muted.contains(&m.email.to_lowercase()))
        .map(|m| (m.name, m.email, partner.id))
        .collect();
    let reviewers: Vec<(String, String, Uuid)> = users::Entity::find()
        .filter(users::Column::OrganizationId.eq(ms.id))
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::NotificationsEnabled.eq(true))
        .all(txn)
        .await?
        .into_iter()
        .filter(|u| Role::parse_list(&u.roles).contains(&Role::RegistrationReviewer))
        .map(|u| (u.name, u.email, ms.id))
        .collect();
    let detail = reg.decision_reason.clone().or_else(|| {
        if kind == EventKind::RegistrationAnswered {
            reg.answer.clone()
        } else {
            reg.question.clone()
        }
    });
    let mut audience = vec![partner.id];
    if super::deals::participants(txn, opp.engagement_id)
        .await?
        .contains(&ms.id)
    {
        audience.push(ms.id);
    }
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (name, email, org) in team.into_iter().chain(reviewers) {
        if !seen.insert(email.to_lowercase()) {
            continue;
        }
        let other = if org == ms.id {
            partner.name.clone()
        } else {
            ms.name.clone()
        };
        let r = render(
            MailKind::RegistrationUpdate,
            &Facts {
                recipient_name: name.clone(),
                deal_name: opp.deal_name.clone(),
                customer_name: customer.clone(),
                other_party: other,
                link: super::notify::link(&deps.frontend_url, opp.id),
                due: String::new(),
                reason: Some(reg.status.clone()),
                notes: detail.clone(),
                contacts: Vec::new(),
            },
        );
        rows.push(email_outbox::ActiveModel::from(email_outbox::Model {
            id: Uuid::now_v7(),
            event_seq: None,
            kind: MailKind::RegistrationUpdate.as_str().to_owned(),
            organization_id: Some(org),
            recipient_email: email,
            recipient_name: name,
            subject: r.subject,
            body_text: r.text,
            body_html: r.html,
            status: "PENDING".to_owned(),
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            last_error: None,
            sent_at: None,
            created_at: now,
            invitation_id: None,
        }));
    }
    if !rows.is_empty() {
        email_outbox::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    events::append(
        txn,
        now,
        vec![EventDraft {
            kind,
            actor_user: Some(viewer.user_id),
            actor_organization: Some(viewer.organization_id),
            engagement: opp.engagement_id,
            opportunity: Some(opp.id),
            visible_to: audience,
            payload: json!({ "registrationId": reg.id, "status": reg.status }),
        }],
    )
    .await?;
    Ok(())
}

/// Registrations for Microsoft's reviewers, oldest first, optionally by status.
pub async fn for_review(
    db: &DatabaseConnection,
    viewer: &Viewer,
    status: Option<RegistrationStatus>,
    limit: u64,
) -> Result<Vec<deal_registrations::Model>, AppError> {
    if !viewer.reviews_registrations() {
        return Err(UserError::new(
            UserErrorCode::Forbidden,
            "for Microsoft's registration reviewers",
            &[],
        )
        .into());
    }
    let mut q =
        deal_registrations::Entity::find().order_by_asc(deal_registrations::Column::CreatedAt);
    if let Some(s) = status {
        q = q.filter(deal_registrations::Column::Status.eq(s.as_str()));
    }
    Ok(sea_orm::QuerySelect::limit(q, limit).all(db).await?)
}
