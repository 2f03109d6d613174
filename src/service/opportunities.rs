//! The mutations on an existing opportunity: answer, edit, team, solutions, close,
//! favorite. Each reads the row inside its transaction (on SQLite: before it, confirming
//! inside that the version has not moved), checks visibility, stage,
//! window and version, then updates it on the condition that the version has not moved
//! (`UPDATE ... WHERE id = ? AND version = ?`), so of concurrent transitions exactly one
//! wins and the others get `CONFLICT`.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    engagements, favorites, invitations, opportunities, opportunity_solutions, team_members,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::deal_input::{self as input, ContactIn, TeamMemberIn};
use super::deals::{
    check_solutions, insert_solutions, insert_team, participants, search_norm, stage_after, visible,
};
use super::events::{self, EventDraft};
use super::notify::Notice;
use super::{Checks, Deps, path};
use crate::domain::Viewer;
use crate::domain::deal::{Action, CloseReason, Direction, InvitationStatus, Stage};
use crate::domain::event::EventKind;
use crate::domain::values::{Name, Notes, Phone};
use crate::error::{AppError, UserError, UserErrorCode};
use crate::store::deals as store;

/// The opportunity, if the viewer may see it; `NOT_FOUND` (for `field`) otherwise,
/// exactly as for an id that does not exist.
pub async fn load_visible<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
    field: &[&str],
) -> Result<opportunities::Model, AppError> {
    match store::opportunity(db, id).await? {
        Some(opp) if visible(db, viewer, &opp).await? => Ok(opp),
        _ => Err(UserError::not_found("opportunity", field).into()),
    }
}

/// The opportunity, if the viewer may see it.
pub async fn get_visible(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<opportunities::Model>, AppError> {
    match store::opportunity(db, id).await? {
        Some(opp) if visible(db, viewer, &opp).await? => Ok(Some(opp)),
        _ => Ok(None),
    }
}

pub fn check_stage(opp: &opportunities::Model, action: Action) -> Result<Stage, AppError> {
    stage_after(opp, action)
}

/// `CONFLICT` when the client's version is not the current one.
pub fn check_version(opp: &opportunities::Model, expected: Option<i32>) -> Result<(), AppError> {
    match expected {
        Some(v) if v != opp.version => Err(UserError::new(
            UserErrorCode::Conflict,
            format!(
                "the opportunity changed: version is {}, not {v}; reload and retry",
                opp.version
            ),
            &["input", "expectedVersion"],
        )
        .into()),
        _ => Ok(()),
    }
}

/// Writes `changes` and the next version, only if the row still has the version read,
/// and returns the row as written (`RETURNING`: what the mutation answers with, without
/// reading it again).
pub async fn bump<C: ConnectionTrait>(
    db: &C,
    opp: &opportunities::Model,
    now: DateTime<Utc>,
    mut changes: opportunities::ActiveModel,
) -> Result<opportunities::Model, AppError> {
    changes.updated_at = Set(now);
    let mut written = opportunities::Entity::update_many()
        .set(changes)
        .col_expr(
            opportunities::Column::Version,
            Expr::col(opportunities::Column::Version).add(1),
        )
        .filter(opportunities::Column::Id.eq(opp.id))
        .filter(opportunities::Column::Version.eq(opp.version))
        .exec_with_returning(db)
        .await?;
    match written.pop() {
        Some(row) if written.is_empty() => Ok(row),
        _ => Err(UserError::new(
            UserErrorCode::Conflict,
            "the opportunity changed at the same moment; reload and retry",
            &["input", "expectedVersion"],
        )
        .into()),
    }
}

/// Common start of a mutation on one opportunity: transaction, visible row, stage,
/// version.
async fn open(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    action: Action,
    expected: Option<i32>,
) -> Result<(crate::db::Write, opportunities::Model, Stage), AppError> {
    const FIELD: &[&str] = &["input", "opportunityId"];
    // On SQLite the one writer connection is what mutations queue for: the row is read
    // before taking it, and inside only its version is confirmed (every change to an
    // opportunity moves it), the row read again only when it moved meanwhile.
    let early = match deps.writer.get_database_backend() {
        DbBackend::Sqlite => Some(load_visible(&deps.db, viewer, id, FIELD).await?),
        _ => None,
    };
    let txn = deps.writes.begin().await?;
    let opp = match early {
        Some(opp) if store::opportunity_version(&txn, id).await? == Some(opp.version) => opp,
        _ => load_visible(&txn, viewer, id, FIELD).await?,
    };
    let next = check_stage(&opp, action)?;
    check_version(&opp, expected)?;
    Ok((txn, opp, next))
}

fn draft(
    kind: EventKind,
    viewer: &Viewer,
    opp: &opportunities::Model,
    visible_to: Vec<Uuid>,
    payload: serde_json::Value,
) -> EventDraft {
    EventDraft {
        kind,
        actor_user: Some(viewer.user_id),
        actor_organization: Some(viewer.organization_id),
        engagement: opp.engagement_id,
        opportunity: Some(opp.id),
        visible_to,
        payload,
    }
}

/// Ends a mutation: events, commit, and the opportunity as the mutation wrote it
/// (`written`, from [`bump`]).
async fn finish(
    deps: &Deps,
    txn: crate::db::Write,
    now: DateTime<Utc>,
    drafts: Vec<EventDraft>,
    written: opportunities::Model,
) -> Result<opportunities::Model, AppError> {
    events::append(&txn, now, drafts).await?;
    txn.commit().await?;
    deps.bus.wake();
    Ok(written)
}

/// Editable details; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DetailsIn {
    pub deal_name: Option<String>,
    pub value: Option<String>,
    pub currency: Option<String>,
    pub close_date: Option<NaiveDate>,
    pub notes: Option<String>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
}

/// Checks the given details into column changes and the names of the changed fields.
fn details_changes(
    c: &mut Checks,
    d: &DetailsIn,
    opp: &opportunities::Model,
    today: NaiveDate,
) -> (opportunities::ActiveModel, Vec<&'static str>) {
    let at = vec!["input".to_owned()];
    let mut m = <opportunities::ActiveModel as Default>::default();
    let mut changed = Vec::new();
    let mut name = opp.deal_name.clone();
    let mut notes = opp.notes.clone();
    let mut crm = opp.crm_id.clone();
    if let Some(n) = &d.deal_name
        && let Some(n) = c.take_at(path(&at, &["dealName"]), Name::parse(n))
    {
        name = n.into_inner();
        m.deal_name = Set(name.clone());
        m.deal_name_norm = Set(crate::domain::text::normalize(&name));
        changed.push("dealName");
    }
    if d.value.is_some() || d.currency.is_some() {
        let currency = d.currency.clone().or_else(|| opp.currency.clone());
        if let Some(Some(money)) = input::money(c, &at, d.value.as_deref(), currency.as_deref()) {
            m.value_e4 = Set(Some(money.to_e4()));
            m.currency = Set(Some(money.currency().code().to_owned()));
            changed.push("value");
        }
    }
    if d.close_date.is_some()
        && let Some(date) = input::close_date(c, &at, d.close_date, today)
    {
        m.close_date = Set(date);
        changed.push("closeDate");
    }
    if let Some(n) = &d.notes
        && let Some(n) = c.take_at(path(&at, &["notes"]), Notes::parse(n))
    {
        notes = Some(n.into_inner()).filter(|s| !s.is_empty());
        m.notes = Set(notes.clone());
        changed.push("notes");
    }
    if d.crm_id.is_some()
        && let Some(v) = input::short(c, &at, "crmId", d.crm_id.as_deref())
    {
        crm = v;
        m.crm_id = Set(crm.clone());
        changed.push("crmId");
    }
    if d.campaign_id.is_some()
        && let Some(v) = input::short(c, &at, "campaignId", d.campaign_id.as_deref())
    {
        m.campaign_id = Set(v);
        changed.push("campaignId");
    }
    if !changed.is_empty() {
        m.search_norm = Set(search_norm(&name, notes.as_deref(), crm.as_deref()));
    }
    (m, changed)
}

/// Accepts a received invitation: confirms or sets the details, optionally the team
/// (else the accepting user alone). After the window: `INVITATION_EXPIRED`.
pub async fn accept(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    expected: Option<i32>,
    details: DetailsIn,
    team: Option<Vec<TeamMemberIn>>,
) -> Result<opportunities::Model, AppError> {
    let now = deps.clock.now();
    let (txn, opp, next) = open(deps, viewer, id, Action::Accept, expected).await?;
    check_window(&opp, now)?;
    let mut c = Checks::default();
    let (mut changes, _) = details_changes(&mut c, &details, &opp, deps.clock.today());
    let at = vec!["input".to_owned(), "team".to_owned()];
    let members = match &team {
        Some(t) => input::team(&mut c, &at, t, true),
        None => vec![self_member(&txn, viewer, &mut c).await?],
    };
    c.finish()?;
    changes.stage = Set(next.as_str().to_owned());
    changes.expires_at = Set(None);
    let written = bump(&txn, &opp, now, changes).await?;
    answer_invitation(
        &txn,
        &opp,
        viewer,
        now,
        InvitationStatus::Accepted,
        None,
        None,
    )
    .await?;
    insert_team(&txn, opp.id, &members, 0, now).await?;
    mail(&txn, deps, &opp, Notice::Accepted, viewer, now).await?;
    let sides = invitation_sides(&txn, &opp).await?;
    let d = draft(
        EventKind::InvitationAccepted,
        viewer,
        &opp,
        sides,
        json!({ "invitationId": opp.invitation_id, "team": members }),
    );
    finish(deps, txn, now, vec![d], written).await
}

/// Declines a received invitation with a reason. After the window: `INVITATION_EXPIRED`.
pub async fn decline(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    expected: Option<i32>,
    reason: CloseReason,
    notes: Option<String>,
) -> Result<opportunities::Model, AppError> {
    let now = deps.clock.now();
    let mut c = Checks::default();
    let notes = input::notes(&mut c, &["input".to_owned()], notes.as_deref());
    c.finish()?;
    let notes = notes.flatten();
    let (txn, opp, next) = open(deps, viewer, id, Action::Decline, expected).await?;
    check_window(&opp, now)?;
    let changes = opportunities::ActiveModel {
        stage: Set(next.as_str().to_owned()),
        closed_at: Set(Some(now)),
        close_reason: Set(Some(reason.as_str().to_owned())),
        close_notes: Set(notes.clone()),
        expires_at: Set(None),
        ..Default::default()
    };
    let written = bump(&txn, &opp, now, changes).await?;
    answer_invitation(
        &txn,
        &opp,
        viewer,
        now,
        InvitationStatus::Declined,
        Some(reason),
        notes.clone(),
    )
    .await?;
    let declined = Notice::Declined {
        reason: reason.as_str().to_owned(),
        notes: notes.clone(),
    };
    mail(&txn, deps, &opp, declined, viewer, now).await?;
    let sides = invitation_sides(&txn, &opp).await?;
    let d = draft(
        EventKind::InvitationDeclined,
        viewer,
        &opp,
        sides,
        json!({ "invitationId": opp.invitation_id, "reason": reason.as_str(), "notes": notes }),
    );
    finish(deps, txn, now, vec![d], written).await
}

/// Emails about the invitation that created `opp`.
async fn mail<C: ConnectionTrait>(
    txn: &C,
    deps: &Deps,
    opp: &opportunities::Model,
    notice: Notice,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if let Some(id) = opp.invitation_id
        && let Some(inv) = store::invitation(txn, id).await?
    {
        super::notify::invitation(txn, deps, &inv, notice, Some(viewer.user_id), now).await?;
    }
    Ok(())
}

fn check_window(opp: &opportunities::Model, now: DateTime<Utc>) -> Result<(), AppError> {
    match opp.expires_at {
        Some(end) if now >= end => Err(UserError::new(
            UserErrorCode::InvitationExpired,
            format!("the invitation's response window ended at {end}"),
            &["input", "opportunityId"],
        )
        .into()),
        _ => Ok(()),
    }
}

/// The accepting user as the team's one member (its profile needs a phone).
async fn self_member<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    c: &mut Checks,
) -> Result<input::TeamMember, AppError> {
    let user = crate::store::directory::user(db, viewer.user_id)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("user gone".into()))?;
    let phone = user.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    if phone.is_none() {
        c.push(UserError::new(
            UserErrorCode::BadUserInput,
            "your profile has no phone: give the team",
            &["input", "team"],
        ));
    }
    Ok(input::TeamMember {
        name: user.name,
        phone: phone.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        email: user.email,
        notify: user.notifications_enabled,
    })
}

async fn answer_invitation<C: ConnectionTrait>(
    db: &C,
    opp: &opportunities::Model,
    viewer: &Viewer,
    now: DateTime<Utc>,
    status: InvitationStatus,
    reason: Option<CloseReason>,
    notes: Option<String>,
) -> Result<(), AppError> {
    let Some(inv) = opp.invitation_id else {
        return Ok(());
    };
    let res = invitations::Entity::update_many()
        .set(invitations::ActiveModel {
            status: Set(status.as_str().to_owned()),
            answered_at: Set(Some(now)),
            answered_by_user_id: Set(Some(viewer.user_id)),
            decline_reason: Set(reason.map(|r| r.as_str().to_owned())),
            decline_notes: Set(notes),
            ..Default::default()
        })
        .filter(invitations::Column::Id.eq(inv))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending.as_str()))
        .exec(db)
        .await?;
    if res.rows_affected == 1 {
        Ok(())
    } else {
        Err(UserError::new(
            UserErrorCode::Conflict,
            "the invitation was answered at the same moment",
            &["input", "opportunityId"],
        )
        .into())
    }
}

/// The inviting and the invited organization of an inbound opportunity.
async fn invitation_sides<C: ConnectionTrait>(
    db: &C,
    opp: &opportunities::Model,
) -> Result<Vec<Uuid>, AppError> {
    let mut sides = vec![opp.organization_id];
    if let Some(id) = opp.invitation_id
        && let Some(inv) = store::invitation(db, id).await?
    {
        sides.push(inv.inviter_organization_id);
    }
    Ok(sides)
}

/// Changes the details of an accepted opportunity; the originator may also change the
/// customer contact until Microsoft is invited.
pub async fn update(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    expected: Option<i32>,
    details: DetailsIn,
    contact: Option<ContactIn>,
) -> Result<opportunities::Model, AppError> {
    let now = deps.clock.now();
    let (txn, opp, _) = open(deps, viewer, id, Action::Update, expected).await?;
    let mut c = Checks::default();
    let (changes, mut changed) = details_changes(&mut c, &details, &opp, deps.clock.today());
    let contact = contact
        .as_ref()
        .and_then(|ci| input::contact(&mut c, &["input".to_owned(), "contact".to_owned()], ci));
    c.finish()?;
    if let Some(ct) = contact {
        let eng = store::engagement(&txn, opp.engagement_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("engagement missing")))?;
        if Direction::parse(&opp.direction) != Some(Direction::Outbound) {
            return Err(UserError::new(
                UserErrorCode::Forbidden,
                "only the originator changes the customer contact",
                &["input", "contact"],
            )
            .into());
        }
        if eng.microsoft_invited_at.is_some() {
            return Err(UserError::new(
                UserErrorCode::BadUserInput,
                "the customer contact is locked: Microsoft has been invited",
                &["input", "contact"],
            )
            .into());
        }
        engagements::ActiveModel {
            id: Set(eng.id),
            contact_name: Set(Some(ct.name)),
            contact_phone: Set(Some(ct.phone)),
            contact_email: Set(Some(ct.email)),
            contact_consent: Set(ct.consent),
            updated_at: Set(now),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        changed.push("contact");
    }
    let written = bump(&txn, &opp, now, changes).await?;
    let d = draft(
        EventKind::DealUpdated,
        viewer,
        &opp,
        vec![opp.organization_id],
        json!({ "changedFields": changed }),
    );
    finish(deps, txn, now, vec![d], written).await
}

/// What changes on a team.
pub enum TeamChange {
    Add(TeamMemberIn),
    Update {
        member: Uuid,
        name: Option<String>,
        phone: Option<String>,
        email: Option<String>,
        notify: Option<bool>,
    },
    Remove(Uuid),
}

/// Adds, changes or removes a team member of an accepted opportunity; at least one
/// member stays.
pub async fn change_team(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    expected: Option<i32>,
    change: TeamChange,
) -> Result<opportunities::Model, AppError> {
    let now = deps.clock.now();
    let action = match &change {
        TeamChange::Add(_) => Action::AddTeamMember,
        TeamChange::Update { .. } => Action::UpdateTeamMember,
        TeamChange::Remove(_) => Action::RemoveTeamMember,
    };
    let (txn, opp, _) = open(deps, viewer, id, action, expected).await?;
    let team = store::teams(&txn, &[opp.id]).await?;
    let at = vec!["input".to_owned()];
    let mut c = Checks::default();
    let payload = match change {
        TeamChange::Add(m) => {
            let member = input::team_member(&mut c, &path(&at, &["member"]), &m);
            if let Some(mm) = &member
                && team.iter().any(|t| t.email_norm == mm.email.to_lowercase())
            {
                c.push(UserError::new(
                    UserErrorCode::BadUserInput,
                    format!("{} is already on the team", mm.email),
                    &["input", "member", "email"],
                ));
            }
            c.finish()?;
            let Some(member) = member else {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "member checked without value"
                )));
            };
            let next = team.iter().map(|t| t.position).max().unwrap_or(0) + 1;
            insert_team(&txn, opp.id, std::slice::from_ref(&member), next, now).await?;
            json!({ "added": member })
        }
        TeamChange::Update {
            member,
            name,
            phone,
            email,
            notify,
        } => {
            let Some(row) = team.iter().find(|t| t.id == member) else {
                return Err(UserError::not_found("team member", &["input", "teamMemberId"]).into());
            };
            let mut m = team_members::ActiveModel {
                id: Set(row.id),
                ..Default::default()
            };
            if let Some(n) = name
                && let Some(n) = c.take_at(path(&at, &["name"]), Name::parse(&n))
            {
                m.name = Set(n.into_inner());
            }
            if let Some(p) = phone
                && let Some(p) = c.take_at(path(&at, &["phone"]), Phone::parse(&p))
            {
                m.phone = Set(p.as_str().to_owned());
            }
            if let Some(e) = email
                && let Some(e) = c.take_at(
                    path(&at, &["email"]),
                    crate::domain::values::Email::parse(&e),
                )
            {
                if team
                    .iter()
                    .any(|t| t.id != member && t.email_norm == e.normalized())
                {
                    c.push(UserError::new(
                        UserErrorCode::BadUserInput,
                        format!("{} is already on the team", e.as_str()),
                        &["input", "email"],
                    ));
                }
                m.email_norm = Set(e.normalized());
                m.email = Set(e.as_str().to_owned());
            }
            if let Some(n) = notify {
                m.notify = Set(n);
            }
            c.finish()?;
            if m.is_changed() {
                m.update(&txn).await?;
            }
            json!({ "changed": member })
        }
        TeamChange::Remove(member) => {
            let Some(row) = team.iter().find(|t| t.id == member) else {
                return Err(UserError::not_found("team member", &["input", "teamMemberId"]).into());
            };
            if team.len() <= 1 {
                return Err(UserError::new(
                    UserErrorCode::BadUserInput,
                    "the team keeps at least one member",
                    &["input", "teamMemberId"],
                )
                .into());
            }
            team_members::Entity::delete_by_id(row.id)
                .exec(&txn)
                .await?;
            json!({ "removed": { "name": row.name, "email": row.email } })
        }
    };
    let written = bump(
        &txn,
        &opp,
        now,
        <opportunities::ActiveModel as Default>::default(),
    )
    .await?;
    let audience = participants(&txn, opp.engagement_id).await?;
    let d = draft(EventKind::TeamChanged, viewer, &opp, audience, payload);
    finish(deps, txn, now, vec![d], written).await
}

/// Adds or removes a solution of an accepted opportunity: only co-sell-ready ones are
/// added, and at least one stays.
pub async fn change_solution(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    expected: Option<i32>,
    solution: Uuid,
    add: bool,
) -> Result<opportunities::Model, AppError> {
    let now = deps.clock.now();
    let action = if add {
        Action::AddSolution
    } else {
        Action::RemoveSolution
    };
    let (txn, opp, _) = open(deps, viewer, id, action, expected).await?;
    let current: Vec<Uuid> = store::solutions_of(&txn, &[opp.id])
        .await?
        .into_iter()
        .map(|(_, s)| s.id)
        .collect();
    let field = ["input", "solutionId"];
    if add {
        if current.contains(&solution) {
            return Err(UserError::new(
                UserErrorCode::BadUserInput,
                "the solution is already on the opportunity",
                &field,
            )
            .into());
        }
        check_solutions(&txn, viewer, &[solution], &["input".to_owned()])
            .await
            .map_err(|e| match e {
                AppError::User(errs) => AppError::User(
                    errs.into_iter()
                        .map(|mut u| {
                            u.field = field.iter().map(|s| (*s).to_owned()).collect();
                            u
                        })
                        .collect(),
                ),
                other => other,
            })?;
        insert_solutions(&txn, opp.id, &[solution], now).await?;
    } else {
        if !current.contains(&solution) {
            return Err(UserError::not_found("solution on this opportunity", &field).into());
        }
        if current.len() <= 1 {
            return Err(UserError::new(
                UserErrorCode::BadUserInput,
                "the opportunity keeps at least one solution",
                &field,
            )
            .into());
        }
        opportunity_solutions::Entity::delete_many()
            .filter(opportunity_solutions::Column::OpportunityId.eq(opp.id))
            .filter(opportunity_solutions::Column::SolutionId.eq(solution))
            .exec(&txn)
            .await?;
    }
    let written = bump(
        &txn,
        &opp,
        now,
        <opportunities::ActiveModel as Default>::default(),
    )
    .await?;
    let key = if add { "added" } else { "removed" };
    let d = draft(
        EventKind::SolutionsChanged,
        viewer,
        &opp,
        vec![opp.organization_id],
        json!({ key: solution }),
    );
    finish(deps, txn, now, vec![d], written).await
}

/// Closes the viewer's own side as won, or lost with a reason. Nobody else's side moves.
pub async fn close(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    expected: Option<i32>,
    lost: Option<CloseReason>,
    notes: Option<String>,
) -> Result<opportunities::Model, AppError> {
    let now = deps.clock.now();
    let mut c = Checks::default();
    let notes = input::notes(&mut c, &["input".to_owned()], notes.as_deref());
    c.finish()?;
    let notes = notes.flatten();
    let action = if lost.is_some() {
        Action::MarkLost
    } else {
        Action::MarkWon
    };
    let (txn, opp, next) = open(deps, viewer, id, action, expected).await?;
    let changes = opportunities::ActiveModel {
        stage: Set(next.as_str().to_owned()),
        closed_at: Set(Some(now)),
        close_reason: Set(lost.map(|r| r.as_str().to_owned())),
        close_notes: Set(notes.clone()),
        ..Default::default()
    };
    let written = bump(&txn, &opp, now, changes).await?;
    let audience = participants(&txn, opp.engagement_id).await?;
    let (kind, payload) = match lost {
        Some(r) => (EventKind::DealLost, json!({ "reason": r.as_str() })),
        None => (EventKind::DealWon, json!({})),
    };
    let d = draft(kind, viewer, &opp, audience, payload);
    finish(deps, txn, now, vec![d], written).await
}

/// Bookmarks (or un-bookmarks) an opportunity the viewer sees, in any stage. Personal:
/// the deal, its version and its log are untouched.
pub async fn set_favorite(
    deps: &Deps,
    viewer: &Viewer,
    id: Uuid,
    on: bool,
) -> Result<opportunities::Model, AppError> {
    let txn = deps.writes.begin().await?;
    let opp = load_visible(&txn, viewer, id, &["input", "opportunityId"]).await?;
    let exists = !store::favorites_of(&txn, viewer.user_id, &[opp.id])
        .await?
        .is_empty();
    if on && !exists {
        favorites::Entity::insert(favorites::ActiveModel::from(favorites::Model {
            user_id: viewer.user_id,
            opportunity_id: opp.id,
            created_at: deps.clock.now(),
        }))
        .exec_without_returning(&txn)
        .await?;
    } else if !on && exists {
        favorites::Entity::delete_many()
            .filter(favorites::Column::UserId.eq(viewer.user_id))
            .filter(favorites::Column::OpportunityId.eq(opp.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(opp)
}
