//! Creating deals (the originator's wizard) and sending invitations.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    engagements, invitations, opportunities, opportunity_solutions, organizations, team_members,
};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::customers::{self, NewCustomer};
use super::deal_input::{self as input, ContactIn, TeamMember, TeamMemberIn, Terms, TermsIn};
use super::events::{self, EventDraft};
use super::idempotency::{self, Claim};
use super::notify::{self, Notice};
use super::opportunities::{self as opps, load_visible};
use super::{Checks, Deps, path};
use crate::domain::access::sees_opportunity;
use crate::domain::deal::{
    Action, DealType, Direction, HelpWanted, InvitationStatus, Stage, transition,
};
use crate::domain::event::EventKind;
use crate::domain::invite::{InviteCase, may_invite};
use crate::domain::text::normalize;
use crate::domain::values::{Money, Name};
use crate::domain::{OrgKind, Viewer};
use crate::error::{AppError, UserError, UserErrorCode, invite_refusal};
use crate::store::{deals as store, directory};

/// An organization to invite from the wizard, with its terms.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InviteIn {
    pub organization_id: Uuid,
    pub terms: TermsIn,
}

/// The deal wizard's input.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NewDeal {
    pub customer_id: Option<Uuid>,
    pub new_customer: Option<NewCustomer>,
    pub contact: Option<ContactIn>,
    pub deal_name: String,
    pub value: Option<String>,
    pub currency: Option<String>,
    pub close_date: Option<NaiveDate>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
    pub notes: Option<String>,
    pub team: Vec<TeamMemberIn>,
    pub solution_ids: Vec<Uuid>,
    pub help_wanted: Option<HelpWanted>,
    pub invitations: Vec<InviteIn>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// The fields of an opportunity's own details, checked.
pub struct Details {
    pub deal_name: String,
    pub money: Option<Money>,
    pub close_date: Option<NaiveDate>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
    pub notes: Option<String>,
}

fn root() -> Vec<String> {
    vec!["input".to_owned()]
}

/// The text list search looks through: deal name, notes, CRM ID.
pub fn search_norm(deal_name: &str, notes: Option<&str>, crm_id: Option<&str>) -> String {
    normalize(&format!(
        "{deal_name} {} {}",
        notes.unwrap_or(""),
        crm_id.unwrap_or("")
    ))
}

/// Creates a deal: the customer (existing or new), the engagement, the originator's
/// opportunity with team and solutions, and every invitation asked for (Microsoft when
/// help is wanted). One transaction; any user error writes nothing.
pub async fn create_deal(
    deps: &Deps,
    viewer: &Viewer,
    input: NewDeal,
) -> Result<opportunities::Model, AppError> {
    let now = deps.clock.now();
    let at = root();
    let key = idempotency::check_key(
        input.idempotency_key.as_deref(),
        &["input", "idempotencyKey"],
    )?;
    let mut c = Checks::default();
    let new_customer = match (&input.customer_id, &input.new_customer) {
        (Some(_), None) => None,
        (None, Some(nc)) => customers::check_new(
            &mut c,
            &path(&at, &["newCustomer"]),
            nc,
            viewer.organization_id,
        ),
        _ => {
            c.push(UserError::new(
                UserErrorCode::BadUserInput,
                "give either customerId or newCustomer",
                &["input", "customerId"],
            ));
            None
        }
    };
    let contact = input
        .contact
        .as_ref()
        .and_then(|ci| input::contact(&mut c, &path(&at, &["contact"]), ci));
    let deal_name = c.take_at(path(&at, &["dealName"]), Name::parse(&input.deal_name));
    let money = input::money(
        &mut c,
        &at,
        input.value.as_deref(),
        input.currency.as_deref(),
    );
    let close = input::close_date(&mut c, &at, input.close_date, deps.clock.today());
    let crm = input::short(&mut c, &at, "crmId", input.crm_id.as_deref());
    let campaign = input::short(&mut c, &at, "campaignId", input.campaign_id.as_deref());
    let notes = input::notes(&mut c, &at, input.notes.as_deref());
    let team = input::team(&mut c, &path(&at, &["team"]), &input.team, true);
    let solution_ids = input::solution_ids(
        &mut c,
        &path(&at, &["solutionIds"]),
        &input.solution_ids,
        true,
    );
    let help = input.help_wanted.unwrap_or(HelpWanted::None);
    if input.invitations.len() > input::MAX_LIST {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            format!("at most {} invitations", input::MAX_LIST),
            &["input", "invitations"],
        ));
    }
    let mut terms = Vec::new();
    for (i, inv) in input.invitations.iter().enumerate() {
        let here = path(&at, &["invitations", &i.to_string(), "terms"]);
        terms.push(input::terms(&mut c, &here, &inv.terms, deps.clock.today()));
    }
    if viewer.is_microsoft() && help != HelpWanted::None {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "Microsoft's own deals ask no help from Microsoft: use NONE",
            &["input", "helpWanted"],
        ));
    }
    let wants_microsoft = !viewer.is_microsoft() && help != HelpWanted::None;
    if wants_microsoft && !contact.as_ref().is_some_and(|ct| ct.consent) {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "inviting Microsoft (help wanted) needs the customer contact with consent",
            &["input", "contact"],
        ));
    }
    c.finish()?;
    let (Some(deal_name), Some(money), Some(close), Some(crm), Some(campaign), Some(notes)) =
        (deal_name, money, close, crm, campaign, notes)
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "checks passed with a missing value"
        )));
    };
    let terms: Vec<Terms> = terms.into_iter().flatten().collect();

    let txn = deps.writes.begin().await?;
    let opp_id = Uuid::now_v7();
    if let Some(k) = &key {
        let hash = input::request_hash(&input);
        if let Claim::Replay(id) = idempotency::claim(
            &txn,
            viewer.organization_id,
            k,
            "Opportunity",
            &hash,
            opp_id,
            now,
        )
        .await?
        {
            txn.rollback().await?;
            return opps::get_visible(&deps.db, viewer, id)
                .await?
                .ok_or_else(|| AppError::from(UserError::not_found("opportunity", &["input"])));
        }
    }
    let customer_id = match (input.customer_id, new_customer) {
        (Some(id), _) => {
            if customers::get_in(&txn, id).await?.is_none() {
                return Err(UserError::not_found("customer", &["input", "customerId"]).into());
            }
            id
        }
        (None, Some(row)) => {
            let id = row.id;
            customers::insert_checked(&txn, row, &path(&at, &["newCustomer"])).await?;
            id
        }
        (None, None) => {
            return Err(UserError::not_found("customer", &["input", "customerId"]).into());
        }
    };
    check_solutions(&txn, viewer, &solution_ids, &path(&at, &["solutionIds"])).await?;

    let deal_type = if viewer.is_microsoft() {
        DealType::CoSell
    } else {
        DealType::Private
    };
    let mut engagement = engagements::Model {
        id: Uuid::now_v7(),
        customer_id,
        originator_id: viewer.organization_id,
        deal_type: deal_type.as_str().to_owned(),
        help_wanted: help.as_str().to_owned(),
        contact_name: contact.as_ref().map(|x| x.name.clone()),
        contact_phone: contact.as_ref().map(|x| x.phone.clone()),
        contact_email: contact.as_ref().map(|x| x.email.clone()),
        contact_consent: contact.as_ref().is_some_and(|x| x.consent),
        microsoft_invited_at: None,
        created_at: now,
        updated_at: now,
    };
    engagement.clone().into_active_model().insert(&txn).await?;
    let details = Details {
        deal_name: deal_name.into_inner(),
        money,
        close_date: close,
        crm_id: crm,
        campaign_id: campaign,
        notes,
    };
    let opp = insert_opportunity(
        &txn,
        NewOpportunity {
            id: opp_id,
            engagement: engagement.id,
            organization: viewer.organization_id,
            direction: Direction::Outbound,
            stage: Stage::Accepted,
            details: &details,
            invitation: None,
            expires_at: None,
            now,
        },
    )
    .await?;
    insert_team(&txn, opp.id, &team, 0, now).await?;
    insert_solutions(&txn, opp.id, &solution_ids, now).await?;
    let mut drafts = vec![EventDraft {
        kind: EventKind::DealCreated,
        actor_user: Some(viewer.user_id),
        actor_organization: Some(viewer.organization_id),
        engagement: engagement.id,
        opportunity: Some(opp.id),
        visible_to: vec![viewer.organization_id],
        payload: json!({ "dealType": engagement.deal_type, "dealName": opp.deal_name }),
    }];

    let mut invites: Vec<(Uuid, Terms, Vec<String>)> = Vec::new();
    if wants_microsoft {
        let ms = directory::microsoft(&txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no Microsoft organization")))?;
        invites.push((
            ms.id,
            Terms {
                close_date: details.close_date,
                money: details.money,
                notes: None,
                team: None,
                solution_ids: None,
                help_wanted: help,
            },
            path(&at, &["helpWanted"]),
        ));
    }
    for (i, (inv, t)) in input.invitations.iter().zip(terms).enumerate() {
        invites.push((
            inv.organization_id,
            t,
            path(&at, &["invitations", &i.to_string(), "organizationId"]),
        ));
    }
    for (org, t, field) in invites {
        let sent = invite_in_txn(
            &txn,
            deps,
            viewer,
            &opp,
            &mut engagement,
            Invitee {
                organization: org,
                field,
                invitation: Uuid::now_v7(),
            },
            t,
            now,
        )
        .await?;
        drafts.extend(sent.1);
    }
    events::append(&txn, now, drafts).await?;
    txn.commit().await?;
    deps.bus.wake();
    Ok(opp)
}

/// The invitation mutation's input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SendInvitation {
    pub opportunity_id: Uuid,
    pub organization_id: Uuid,
    pub terms: TermsIn,
    #[serde(skip)]
    pub expected_version: Option<i32>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Sends an invitation from the viewer's opportunity: creates the invitee's opportunity
/// in `RECEIVED`, pre-filled from the terms, and upgrades the deal type when due.
pub async fn send_invitation(
    deps: &Deps,
    viewer: &Viewer,
    input: SendInvitation,
) -> Result<invitations::Model, AppError> {
    let now = deps.clock.now();
    let at = root();
    let key = idempotency::check_key(
        input.idempotency_key.as_deref(),
        &["input", "idempotencyKey"],
    )?;
    let mut c = Checks::default();
    let terms = input::terms(
        &mut c,
        &path(&at, &["terms"]),
        &input.terms,
        deps.clock.today(),
    );
    c.finish()?;
    let terms =
        terms.ok_or_else(|| AppError::Internal(anyhow::anyhow!("terms checked without value")))?;

    let txn = deps.writes.begin().await?;
    let invitation_id = Uuid::now_v7();
    if let Some(k) = &key {
        let hash = input::request_hash(&input);
        if let Claim::Replay(id) = idempotency::claim(
            &txn,
            viewer.organization_id,
            k,
            "Invitation",
            &hash,
            invitation_id,
            now,
        )
        .await?
        {
            txn.rollback().await?;
            return store::invitation(&deps.db, id)
                .await?
                .ok_or_else(|| AppError::from(UserError::not_found("invitation", &["input"])));
        }
    }
    let opp = load_visible(
        &txn,
        viewer,
        input.opportunity_id,
        &["input", "opportunityId"],
    )
    .await?;
    opps::check_stage(&opp, Action::Invite)?;
    opps::check_version(&opp, input.expected_version)?;
    let mut engagement = store::engagement(&txn, opp.engagement_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("opportunity without engagement")))?;
    let (invitation, drafts) = invite_in_txn(
        &txn,
        deps,
        viewer,
        &opp,
        &mut engagement,
        Invitee {
            organization: input.organization_id,
            field: path(&at, &["organizationId"]),
            invitation: invitation_id,
        },
        terms,
        now,
    )
    .await?;
    opps::bump(
        &txn,
        &opp,
        now,
        <opportunities::ActiveModel as Default>::default(),
    )
    .await?;
    events::append(&txn, now, drafts).await?;
    txn.commit().await?;
    deps.bus.wake();
    Ok(invitation)
}

/// Who is invited, the input field that names it, and the id the invitation gets
/// (known before it is written, so an idempotency key can point at it).
pub struct Invitee {
    pub organization: Uuid,
    pub field: Vec<String>,
    pub invitation: Uuid,
}

/// Everything an invitation writes, inside the caller's transaction: the checks of the
/// invitation table, the invitee's opportunity, the invitation, the deal-type upgrade.
/// Returns the invitation and the events to append.
#[allow(clippy::too_many_arguments)]
async fn invite_in_txn(
    txn: &DatabaseTransaction,
    deps: &Deps,
    viewer: &Viewer,
    inviter: &opportunities::Model,
    engagement: &mut engagements::Model,
    invitee: Invitee,
    terms: Terms,
    now: DateTime<Utc>,
) -> Result<(invitations::Model, Vec<EventDraft>), AppError> {
    store::lock_engagement(txn, engagement.id, now).await?;
    let org: organizations::Model = directory::organization(txn, invitee.organization)
        .await?
        .filter(|o| o.kind == OrgKind::Microsoft.as_str() || o.co_sell_ready)
        .ok_or_else(|| {
            AppError::from(UserError::at(
                UserErrorCode::NotFound,
                "organization not found (only co-sell-ready partners can be invited)",
                invitee.field.clone(),
            ))
        })?;
    let invitee_kind: OrgKind = org.kind.parse().unwrap_or(OrgKind::Partner);
    let current = DealType::parse(&engagement.deal_type).unwrap_or(DealType::Private);
    let direction = Direction::parse(&inviter.direction).unwrap_or(Direction::Inbound);
    let open = store::holds_open_place(txn, engagement.id, org.id).await?;
    let new_type = may_invite(InviteCase {
        deal_type: current,
        inviter_direction: direction,
        invitee_kind,
        invitee_is_inviter: org.id == viewer.organization_id,
        invitee_holds_open_place: open,
        contact_consented: engagement.contact_consent && engagement.contact_name.is_some(),
    })
    .map_err(|r| AppError::from(invite_refusal(r, invitee.field.clone())))?;
    if invitee_kind == OrgKind::Microsoft && terms.help_wanted == HelpWanted::None {
        return Err(UserError::at(
            UserErrorCode::BadUserInput,
            "say which help is wanted from Microsoft",
            invitee.field.clone(),
        )
        .into());
    }

    // Terms default to the inviting deal's own team, solutions, date and value.
    let team: Vec<TeamMember> = match terms.team {
        Some(t) => t,
        None => store::teams(txn, &[inviter.id])
            .await?
            .into_iter()
            .map(|m| TeamMember {
                name: m.name,
                phone: m.phone,
                email: m.email,
                notify: m.notify,
            })
            .collect(),
    };
    let solution_ids: Vec<Uuid> = match terms.solution_ids {
        Some(ids) => {
            let mut field = invitee.field.clone();
            field.pop();
            field.extend(["terms".to_owned(), "solutionIds".to_owned()]);
            check_solutions(txn, viewer, &ids, &field).await?;
            ids
        }
        None => store::solutions_of(txn, &[inviter.id])
            .await?
            .into_iter()
            .map(|(_, s)| s.id)
            .collect(),
    };
    let money = terms.money.or_else(|| {
        let cur = inviter.currency.as_deref()?;
        let cur = crate::domain::values::Currency::parse(cur).ok()?;
        Money::parse(&Money::format_e4(inviter.value_e4?, Some(cur.code())), cur).ok()
    });
    let close_date = terms.close_date.or(inviter.close_date);

    let invitation_id = invitee.invitation;
    let expires_at = now + deps.response_window;
    let details = Details {
        deal_name: inviter.deal_name.clone(),
        money,
        close_date,
        crm_id: None,
        campaign_id: None,
        notes: terms.notes.clone(),
    };
    let invitee_opp = insert_opportunity(
        txn,
        NewOpportunity {
            id: Uuid::now_v7(),
            engagement: engagement.id,
            organization: org.id,
            direction: Direction::Inbound,
            stage: Stage::Received,
            details: &details,
            invitation: Some(invitation_id),
            expires_at: Some(expires_at),
            now,
        },
    )
    .await?;
    insert_solutions(txn, invitee_opp.id, &solution_ids, now).await?;
    let invitation = invitations::Model {
        id: invitation_id,
        engagement_id: engagement.id,
        inviter_organization_id: viewer.organization_id,
        inviter_user_id: viewer.user_id,
        inviter_opportunity_id: inviter.id,
        invitee_organization_id: org.id,
        invitee_opportunity_id: invitee_opp.id,
        close_date,
        value_e4: money.map(|m| m.to_e4()),
        currency: money.map(|m| m.currency().code().to_owned()),
        notes: terms.notes,
        help_wanted: terms.help_wanted.as_str().to_owned(),
        team: serde_json::to_value(&team).unwrap_or_default(),
        solution_ids: serde_json::to_value(&solution_ids).unwrap_or_default(),
        status: InvitationStatus::Pending.as_str().to_owned(),
        sent_at: now,
        expires_at,
        answered_at: None,
        answered_by_user_id: None,
        decline_reason: None,
        decline_notes: None,
    };
    invitation.clone().into_active_model().insert(txn).await?;
    notify::invitation(
        txn,
        deps,
        &invitation,
        Notice::Sent,
        Some(viewer.user_id),
        now,
    )
    .await?;

    let mut changes = engagements::ActiveModel {
        id: Set(engagement.id),
        ..Default::default()
    };
    let mut drafts = Vec::new();
    if invitee_kind == OrgKind::Microsoft && engagement.microsoft_invited_at.is_none() {
        engagement.microsoft_invited_at = Some(now);
        changes.microsoft_invited_at = Set(Some(now));
    }
    let sides = vec![viewer.organization_id, org.id];
    if new_type != current {
        engagement.deal_type = new_type.as_str().to_owned();
        changes.deal_type = Set(engagement.deal_type.clone());
        let participants = participants(txn, engagement.id).await?;
        drafts.push(EventDraft {
            kind: EventKind::DealUpgraded,
            actor_user: Some(viewer.user_id),
            actor_organization: Some(viewer.organization_id),
            engagement: engagement.id,
            opportunity: Some(inviter.id),
            visible_to: participants,
            payload: json!({ "from": current.as_str(), "to": new_type.as_str() }),
        });
    }
    if changes.is_changed() {
        changes.update(txn).await?;
    }
    drafts.insert(
        0,
        EventDraft {
            kind: EventKind::InvitationSent,
            actor_user: Some(viewer.user_id),
            actor_organization: Some(viewer.organization_id),
            engagement: engagement.id,
            opportunity: Some(invitee_opp.id),
            visible_to: sides,
            payload: json!({
                "invitationId": invitation.id,
                "inviter": viewer.organization_id,
                "invitee": org.id,
                "expiresAt": expires_at,
            }),
        },
    );
    Ok((invitation, drafts))
}

/// Every organization with an opportunity in the engagement.
pub async fn participants<C: ConnectionTrait>(
    db: &C,
    engagement: Uuid,
) -> Result<Vec<Uuid>, AppError> {
    let mut orgs: Vec<Uuid> = store::opportunities_of_engagements(db, &[engagement])
        .await?
        .into_iter()
        .map(|o| o.organization_id)
        .collect();
    orgs.sort();
    orgs.dedup();
    Ok(orgs)
}

/// Each id must name a co-sell-ready solution the viewer can see.
pub async fn check_solutions<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    ids: &[Uuid],
    at: &[String],
) -> Result<(), AppError> {
    let found = store::solutions_by_ids(db, ids).await?;
    let mut errors = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let here = path(at, &[&i.to_string()]);
        match found.iter().find(|s| s.id == *id) {
            Some(s) if s.co_sell_ready => {}
            Some(s) if s.publisher_id == viewer.organization_id => errors.push(UserError::at(
                UserErrorCode::BadUserInput,
                format!("{} is not co-sell ready", s.name),
                here,
            )),
            _ => errors.push(UserError::at(
                UserErrorCode::NotFound,
                "solution not found",
                here,
            )),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::User(errors))
    }
}

pub struct NewOpportunity<'a> {
    pub id: Uuid,
    pub engagement: Uuid,
    pub organization: Uuid,
    pub direction: Direction,
    pub stage: Stage,
    pub details: &'a Details,
    pub invitation: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

async fn insert_opportunity<C: ConnectionTrait>(
    db: &C,
    n: NewOpportunity<'_>,
) -> Result<opportunities::Model, AppError> {
    let d = n.details;
    let row = opportunities::Model {
        id: n.id,
        engagement_id: n.engagement,
        organization_id: n.organization,
        direction: n.direction.as_str().to_owned(),
        stage: n.stage.as_str().to_owned(),
        deal_name: d.deal_name.clone(),
        deal_name_norm: normalize(&d.deal_name),
        search_norm: search_norm(&d.deal_name, d.notes.as_deref(), d.crm_id.as_deref()),
        value_e4: d.money.map(|m| m.to_e4()),
        currency: d.money.map(|m| m.currency().code().to_owned()),
        close_date: d.close_date,
        crm_id: d.crm_id.clone(),
        campaign_id: d.campaign_id.clone(),
        notes: d.notes.clone(),
        invitation_id: n.invitation,
        expires_at: n.expires_at,
        reminded_at: None,
        closed_at: None,
        close_reason: None,
        close_notes: None,
        version: 1,
        created_at: n.now,
        updated_at: n.now,
    };
    Ok(row.into_active_model().insert(db).await?)
}

/// Adds `members` to an opportunity's team, after position `start`.
pub async fn insert_team<C: ConnectionTrait>(
    db: &C,
    opportunity: Uuid,
    members: &[TeamMember],
    start: i32,
    now: DateTime<Utc>,
) -> Result<Vec<team_members::Model>, AppError> {
    let rows: Vec<team_members::Model> = members
        .iter()
        .enumerate()
        .map(|(i, m)| team_members::Model {
            id: Uuid::now_v7(),
            opportunity_id: opportunity,
            name: m.name.clone(),
            phone: m.phone.clone(),
            email: m.email.clone(),
            email_norm: m.email.to_lowercase(),
            notify: m.notify,
            position: start + i as i32,
            created_at: now,
        })
        .collect();
    if !rows.is_empty() {
        team_members::Entity::insert_many(
            rows.iter().cloned().map(team_members::ActiveModel::from),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(rows)
}

pub async fn insert_solutions<C: ConnectionTrait>(
    db: &C,
    opportunity: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    opportunity_solutions::Entity::insert_many(ids.iter().map(|id| {
        opportunity_solutions::ActiveModel::from(opportunity_solutions::Model {
            opportunity_id: opportunity,
            solution_id: *id,
            created_at: now,
        })
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Whether the viewer may see and work this opportunity (reads its team, unless the
/// viewer sees the whole organization).
pub async fn visible<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    opp: &opportunities::Model,
) -> Result<bool, AppError> {
    if opp.organization_id != viewer.organization_id {
        return Ok(false);
    }
    // An admin sees the whole organization: its team need not be read (one statement
    // fewer inside every mutation's write transaction).
    if viewer.sees_whole_organization() {
        return Ok(true);
    }
    let emails = store::team_emails(db, opp.id).await?;
    Ok(sees_opportunity(viewer, opp.organization_id, &emails))
}

/// `transition` as a user error (kept here so every caller names the same refusal).
pub fn stage_after(opp: &opportunities::Model, action: Action) -> Result<Stage, AppError> {
    let stage = Stage::parse(&opp.stage)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown stage {}", opp.stage)))?;
    Ok(transition(stage, action)?)
}
