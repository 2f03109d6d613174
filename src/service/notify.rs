//! Who is emailed about an invitation's events (SPEC §8), written as outbox rows in the
//! event's own transaction. People who turned notifications off get none.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{invitations, users};
use sea_orm::sea_query::{ArrayType, Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryResult, Value};
use uuid::Uuid;

use super::Deps;
use super::bulk::{self, Col, Fixed};
use super::deal_input::TeamMember;
use crate::domain::Role;
use crate::email::templates::{InvitationMail, MailKind, Party, render};
use crate::error::AppError;
use crate::store::{Sql, deals as store, directory};

/// What happened to the invitation.
#[derive(Debug, Clone)]
pub enum Notice {
    Sent,
    Accepted,
    Declined {
        reason: String,
        notes: Option<String>,
    },
    ExpiringSoon,
    Expired,
}

/// Which side of the invitation a recipient is on: its organization is "us", the
/// other side "them".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Inviter,
    Invitee,
}

/// Someone SPEC §8 emails about a notice.
struct Recipient<'a> {
    name: &'a str,
    email: &'a str,
    kind: MailKind,
    side: Side,
}

/// An email ready for the outbox.
struct Mail {
    kind: MailKind,
    organization: Uuid,
    email: String,
    name: String,
    rendered: crate::email::templates::Rendered,
}

/// What the emails about one invitation are made of, loaded.
struct Facts<'a> {
    inviter: Party<'a>,
    invitee: Party<'a>,
    customer_name: &'a str,
    expires_at: DateTime<Utc>,
    /// The inviter's team members who want email and did not turn notifications off.
    inviter_team: &'a [TeamMember],
    /// The invitee organization's active referral admins with notifications on.
    admins: &'a [users::Model],
    /// The acting user, when active with notifications on.
    actor: Option<&'a users::Model>,
    /// The invitee's team contacts, for an acceptance.
    contacts: &'a [(String, String, String)],
}

/// Who SPEC §8 emails about `notice`, in order, one per address (case-insensitively;
/// the first mention wins). The one place this is decided, for emails rendered when
/// queued and for those rendered at delivery alike.
fn recipients<'a>(
    notice: &Notice,
    inviter_team: &'a [TeamMember],
    admins: &'a [users::Model],
    actor: Option<&'a users::Model>,
) -> Vec<Recipient<'a>> {
    let to_invitee_admins = |kind| {
        admins.iter().map(move |u| Recipient {
            name: &u.name,
            email: &u.email,
            kind,
            side: Side::Invitee,
        })
    };
    let to_inviter_team = |kind| {
        inviter_team.iter().map(move |m| Recipient {
            name: &m.name,
            email: &m.email,
            kind,
            side: Side::Inviter,
        })
    };
    let to_actor = |kind, side| {
        actor.into_iter().map(move |u| Recipient {
            name: &u.name,
            email: &u.email,
            kind,
            side,
        })
    };
    let all: Vec<Recipient<'a>> = match notice {
        Notice::Sent => to_invitee_admins(MailKind::InvitationReceived)
            .chain(to_actor(MailKind::InvitationSent, Side::Inviter))
            .collect(),
        Notice::Accepted => to_inviter_team(MailKind::InvitationAccepted)
            .chain(to_actor(MailKind::AcceptedConfirmation, Side::Invitee))
            .collect(),
        Notice::Declined { .. } => to_inviter_team(MailKind::InvitationDeclined)
            .chain(to_actor(MailKind::DeclinedConfirmation, Side::Invitee))
            .collect(),
        Notice::ExpiringSoon => to_invitee_admins(MailKind::InvitationExpiringSoon).collect(),
        Notice::Expired => to_inviter_team(MailKind::InvitationExpired)
            .chain(to_invitee_admins(MailKind::InvitationExpired))
            .collect(),
    };
    let mut seen = HashSet::new();
    all.into_iter()
        .filter(|r| seen.insert(r.email.to_lowercase()))
        .collect()
}

/// The emails SPEC §8 sends for `notice`, rendered: appended to `out`.
fn compose(frontend_url: &str, f: &Facts<'_>, notice: &Notice, out: &mut Vec<Mail>) {
    let (reason, notes) = match notice {
        Notice::Declined { reason, notes } => (Some(reason.clone()), notes.clone()),
        _ => (None, None),
    };
    for r in recipients(notice, f.inviter_team, f.admins, f.actor) {
        let (own, other) = match r.side {
            Side::Inviter => (f.inviter, f.invitee),
            Side::Invitee => (f.invitee, f.inviter),
        };
        let mail = InvitationMail {
            recipient_name: r.name,
            own,
            other,
            customer_name: f.customer_name,
            expires_at: f.expires_at,
        };
        let contacts = if r.kind == MailKind::InvitationAccepted {
            f.contacts.to_vec()
        } else {
            Vec::new()
        };
        let facts = mail.facts(frontend_url, reason.clone(), notes.clone(), contacts);
        out.push(Mail {
            kind: r.kind,
            organization: own.organization,
            email: r.email.to_owned(),
            name: r.name.to_owned(),
            rendered: render(r.kind, &facts),
        });
    }
}

/// The columns of `email_outbox` written per row; the rest are the same for all.
/// The columns every new outbox row starts with: pending, never tried, due `now`.
fn pending(now: DateTime<Utc>) -> [(&'static str, Fixed); 8] {
    [
        ("event_seq", Fixed::Sql("NULL")),
        ("status", Fixed::Sql("'PENDING'")),
        ("attempts", Fixed::Sql("0")),
        ("next_attempt_at", Fixed::Bind(now.into())),
        ("lease_until", Fixed::Sql("NULL")),
        ("last_error", Fixed::Sql("NULL")),
        ("sent_at", Fixed::Sql("NULL")),
        ("created_at", Fixed::Bind(now.into())),
    ]
}

const OUTBOX_COLS: [Col; 8] = [
    Col::new("id", ArrayType::Uuid, "uuid"),
    Col::new("kind", ArrayType::String, "text"),
    Col::new("organization_id", ArrayType::Uuid, "uuid"),
    Col::new("recipient_email", ArrayType::String, "text"),
    Col::new("recipient_name", ArrayType::String, "text"),
    Col::new("subject", ArrayType::String, "text"),
    Col::new("body_text", ArrayType::String, "text"),
    Col::new("body_html", ArrayType::String, "text"),
];

/// Queues `mails` (pending, due now).
async fn queue<C: ConnectionTrait>(
    txn: &C,
    mails: Vec<Mail>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut cols: Vec<Vec<Value>> = (0..OUTBOX_COLS.len())
        .map(|_| Vec::with_capacity(mails.len()))
        .collect();
    for m in mails {
        cols[0].push(Uuid::now_v7().into());
        cols[1].push(m.kind.as_str().into());
        cols[2].push(m.organization.into());
        cols[3].push(m.email.into());
        cols[4].push(m.name.into());
        cols[5].push(m.rendered.subject.into());
        cols[6].push(m.rendered.text.into());
        cols[7].push(m.rendered.html.into());
    }
    bulk::insert(txn, "email_outbox", &OUTBOX_COLS, cols, &pending(now)).await?;
    Ok(())
}

fn missing(what: &str) -> AppError {
    AppError::Internal(anyhow::anyhow!("{what} missing for an email"))
}

/// Writes the outbox rows for `notice` on `inv`; `actor` is the user who acted.
pub async fn invitation<C: ConnectionTrait>(
    txn: &C,
    deps: &Deps,
    inv: &invitations::Model,
    notice: Notice,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let inviter = directory::organization(txn, inv.inviter_organization_id)
        .await?
        .ok_or_else(|| missing("inviter"))?;
    let invitee = directory::organization(txn, inv.invitee_organization_id)
        .await?
        .ok_or_else(|| missing("invitee"))?;
    let engagement = store::engagement(txn, inv.engagement_id)
        .await?
        .ok_or_else(|| missing("engagement"))?;
    let customer = crate::service::customers::get_in(txn, engagement.customer_id)
        .await?
        .ok_or_else(|| missing("customer"))?;
    let inviter_opp = store::opportunity(txn, inv.inviter_opportunity_id)
        .await?
        .ok_or_else(|| missing("inviter opportunity"))?;
    let invitee_opp = store::opportunity(txn, inv.invitee_opportunity_id)
        .await?
        .ok_or_else(|| missing("invitee opportunity"))?;

    let team: Vec<TeamMember> = serde_json::from_value(inv.team.clone()).unwrap_or_default();
    let emails: Vec<String> = team.iter().map(|m| m.email.clone()).collect();
    let muted = muted_emails(txn, &emails).await?;
    let admins = referral_admins(txn, &[invitee.id])
        .await?
        .remove(&invitee.id)
        .unwrap_or_default();
    let actor_user = match actor {
        Some(id) => directory::user(txn, id)
            .await?
            .filter(|u| u.active && u.notifications_enabled),
        None => None,
    };
    let inviter_team: Vec<TeamMember> = team
        .into_iter()
        .filter(|m| m.notify && !muted.contains(&m.email.to_lowercase()))
        .collect();
    let contacts: Vec<(String, String, String)> = if matches!(notice, Notice::Accepted) {
        store::teams(txn, &[invitee_opp.id])
            .await?
            .into_iter()
            .map(|m| (m.name, m.email, m.phone))
            .collect()
    } else {
        Vec::new()
    };
    let facts = Facts {
        inviter: Party {
            organization: inviter.id,
            name: &inviter.name,
            opportunity: inviter_opp.id,
            deal_name: &inviter_opp.deal_name,
        },
        invitee: Party {
            organization: invitee.id,
            name: &invitee.name,
            opportunity: invitee_opp.id,
            deal_name: &invitee_opp.deal_name,
        },
        customer_name: &customer.name,
        expires_at: inv.expires_at,
        inviter_team: &inviter_team,
        admins: &admins,
        actor: actor_user.as_ref(),
        contacts: &contacts,
    };
    let mut mails = Vec::new();
    compose(&deps.frontend_url, &facts, &notice, &mut mails);
    queue(txn, mails, now).await
}

/// An invitation a sweep picked, as its notices need it: [`SWEPT_COLUMNS`], read from a
/// `SELECT` or an `UPDATE … RETURNING`.
#[derive(Debug, Clone)]
pub struct Swept {
    pub id: Uuid,
    pub inviter: Uuid,
    pub invitee: Uuid,
    /// The terms' team, frozen when sent.
    pub team: serde_json::Value,
}

/// The column list [`Swept::from_row`] reads.
pub const SWEPT_COLUMNS: &str = "id, inviter_organization_id, invitee_organization_id, team";

impl Swept {
    pub fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Swept {
            id: row.try_get("", "id")?,
            inviter: row.try_get("", "inviter_organization_id")?,
            invitee: row.try_get("", "invitee_organization_id")?,
            team: row.try_get("", "team")?,
        })
    }

    /// The invitations with these ids (at most [`bulk::MAX_IN`]); missing ones are left out.
    pub async fn load<C: ConnectionTrait>(txn: &C, ids: &[Uuid]) -> Result<Vec<Self>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("SELECT ")
            .push(SWEPT_COLUMNS)
            .push(" FROM invitations WHERE id");
        bulk::push_in(&mut sql, ids);
        txn.query_all_raw(sql.build())
            .await?
            .iter()
            .map(Self::from_row)
            .collect()
    }
}

/// The columns of an outbox row rendered at delivery, written per row.
const DEFERRED_COLS: [Col; 6] = [
    Col::new("id", ArrayType::Uuid, "uuid"),
    Col::new("kind", ArrayType::String, "text"),
    Col::new("organization_id", ArrayType::Uuid, "uuid"),
    Col::new("recipient_email", ArrayType::String, "text"),
    Col::new("recipient_name", ArrayType::String, "text"),
    Col::new("invitation_id", ArrayType::Uuid, "uuid"),
];

/// The emails of a sweep's notices (`Expired`, `ExpiringSoon`; no acting user) about
/// many invitations at once (at most [`bulk::MAX_IN`]), queued in the caller's
/// transaction. Who gets them is decided here, now, by the same [`recipients`] as every
/// other email; what they say is rendered at delivery from the invitation
/// (`email::deferred`, the same templates and facts), so a row holds the recipient and
/// the invitation's id instead of ~1 KB of subject, text and HTML. Two reads for the
/// whole batch (the invitee organizations' admins, who among the teams turned mail
/// off), then one insert.
pub async fn invitations_deferred<C: ConnectionTrait>(
    txn: &C,
    invs: &[Swept],
    notice: &Notice,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let started = std::time::Instant::now();
    let with_team = matches!(notice, Notice::Expired);
    let teams: Vec<Vec<TeamMember>> = invs
        .iter()
        .map(|i| {
            if with_team {
                serde_json::from_value(i.team.clone()).unwrap_or_default()
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut invitees: Vec<Uuid> = invs.iter().map(|i| i.invitee).collect();
    invitees.sort();
    invitees.dedup();
    let admins = referral_admins(txn, &invitees).await?;
    let mut emails: Vec<String> = teams
        .iter()
        .flatten()
        .filter(|m| m.notify)
        .map(|m| m.email.to_lowercase())
        .collect();
    emails.sort();
    emails.dedup();
    let mut muted = HashSet::new();
    for chunk in emails.chunks(bulk::MAX_IN) {
        muted.extend(muted_emails(txn, chunk).await?);
    }
    let loaded = started.elapsed();

    let mut cols: Vec<Vec<Value>> = (0..DEFERRED_COLS.len())
        .map(|_| Vec::with_capacity(invs.len() * 3))
        .collect();
    let mut inviter_team = Vec::new();
    for (inv, team) in invs.iter().zip(&teams) {
        inviter_team.clear();
        inviter_team.extend(
            team.iter()
                .filter(|m| m.notify && !muted.contains(&m.email.to_lowercase()))
                .cloned(),
        );
        let admins = admins.get(&inv.invitee).map_or(&[][..], Vec::as_slice);
        for r in recipients(notice, &inviter_team, admins, None) {
            let organization = match r.side {
                Side::Inviter => inv.inviter,
                Side::Invitee => inv.invitee,
            };
            cols[0].push(Uuid::now_v7().into());
            cols[1].push(r.kind.as_str().into());
            cols[2].push(organization.into());
            cols[3].push(r.email.into());
            cols[4].push(r.name.into());
            cols[5].push(inv.id.into());
        }
    }
    let composed = started.elapsed();
    let n = cols[0].len();
    bulk::insert(
        txn,
        "email_outbox",
        &DEFERRED_COLS,
        cols,
        &[
            // Rendered by the worker at delivery (`email::deferred`).
            ("subject", Fixed::Sql("''")),
            ("body_text", Fixed::Sql("''")),
            ("body_html", Fixed::Sql("''")),
        ]
        .into_iter()
        .chain(pending(now))
        .collect::<Vec<_>>(),
    )
    .await?;
    tracing::debug!(
        invitations = invs.len(),
        mails = n,
        load_ms = loaded.as_millis() as u64,
        compose_ms = (composed - loaded).as_millis() as u64,
        queue_ms = (started.elapsed() - composed).as_millis() as u64,
        "notify: a batch, rendered at delivery"
    );
    Ok(())
}

/// The active referral admins with notifications on of these organizations.
async fn referral_admins<C: ConnectionTrait>(
    txn: &C,
    organizations: &[Uuid],
) -> Result<HashMap<Uuid, Vec<users::Model>>, DbErr> {
    let mut admins: HashMap<Uuid, Vec<users::Model>> = HashMap::new();
    if organizations.is_empty() {
        return Ok(admins);
    }
    for u in users::Entity::find()
        .filter(users::Column::OrganizationId.is_in(organizations.iter().copied()))
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::NotificationsEnabled.eq(true))
        .all(txn)
        .await?
    {
        if Role::parse_list(&u.roles).contains(&Role::ReferralAdmin) {
            admins.entry(u.organization_id).or_default().push(u);
        }
    }
    Ok(admins)
}

/// Lower-case emails of users who turned notifications off: a team member with such an
/// email gets no mail either (invitations' and registrations' mail alike).
pub(super) async fn muted_emails<C: ConnectionTrait>(
    txn: &C,
    emails: &[String],
) -> Result<HashSet<String>, AppError> {
    let lower: Vec<String> = emails.iter().map(|e| e.to_lowercase()).collect();
    Ok(users::Entity::find()
        .filter(users::Column::NotificationsEnabled.eq(false))
        .filter(Expr::expr(Func::lower(Expr::col(users::Column::Email))).is_in(lower))
        .all(txn)
        .await?
        .into_iter()
        .map(|u| u.email.to_lowercase())
        .collect())
}

/// The front end's page of an opportunity.
pub fn link(base: &str, opportunity: Uuid) -> String {
    crate::email::templates::link(base, opportunity)
}
