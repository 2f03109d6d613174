//! Who is emailed about an invitation's events (SPEC §8), written as outbox rows in the
//! event's own transaction. People who turned notifications off get none.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{invitations, organizations, users};
use sea_orm::sea_query::{ArrayType, Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryResult, Value};
use uuid::Uuid;

use super::Deps;
use super::bulk::{self, Col, Fixed};
use super::deal_input::TeamMember;
use crate::domain::Role;
use crate::email::templates::{Facts as MailFacts, MailKind, render};
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

/// One side of an invitation, as its emails name it.
#[derive(Debug, Clone, Copy)]
struct Party<'a> {
    organization: Uuid,
    name: &'a str,
    opportunity: Uuid,
    deal_name: &'a str,
}

struct Recipient<'a> {
    name: &'a str,
    email: &'a str,
    kind: MailKind,
    /// The recipient's own side: its organization is "us", the other side "them".
    own: Party<'a>,
    other: Party<'a>,
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
    admins: &'a [&'a users::Model],
    /// The acting user, when active with notifications on.
    actor: Option<&'a users::Model>,
    /// The invitee's team contacts, for an acceptance.
    contacts: &'a [(String, String, String)],
}

/// The emails SPEC §8 sends for `notice` (one per address, case-insensitively), in
/// order: appended to `out`.
fn compose(frontend_url: &str, f: &Facts<'_>, notice: &Notice, out: &mut Vec<Mail>) {
    let to_invitee_admins = |kind| {
        f.admins.iter().map(move |u| Recipient {
            name: &u.name,
            email: &u.email,
            kind,
            own: f.invitee,
            other: f.inviter,
        })
    };
    let to_inviter_team = |kind| {
        f.inviter_team.iter().map(move |m| Recipient {
            name: &m.name,
            email: &m.email,
            kind,
            own: f.inviter,
            other: f.invitee,
        })
    };
    let to_actor = |kind, own, other| {
        f.actor.into_iter().map(move |u| Recipient {
            name: &u.name,
            email: &u.email,
            kind,
            own,
            other,
        })
    };
    let (recipients, reason, notes): (Vec<Recipient<'_>>, _, _) = match notice {
        Notice::Sent => (
            to_invitee_admins(MailKind::InvitationReceived)
                .chain(to_actor(MailKind::InvitationSent, f.inviter, f.invitee))
                .collect(),
            None,
            None,
        ),
        Notice::Accepted => (
            to_inviter_team(MailKind::InvitationAccepted)
                .chain(to_actor(
                    MailKind::AcceptedConfirmation,
                    f.invitee,
                    f.inviter,
                ))
                .collect(),
            None,
            None,
        ),
        Notice::Declined { reason, notes } => (
            to_inviter_team(MailKind::InvitationDeclined)
                .chain(to_actor(
                    MailKind::DeclinedConfirmation,
                    f.invitee,
                    f.inviter,
                ))
                .collect(),
            Some(reason.clone()),
            notes.clone(),
        ),
        Notice::ExpiringSoon => (
            to_invitee_admins(MailKind::InvitationExpiringSoon).collect(),
            None,
            None,
        ),
        Notice::Expired => (
            to_inviter_team(MailKind::InvitationExpired)
                .chain(to_invitee_admins(MailKind::InvitationExpired))
                .collect(),
            None,
            None,
        ),
    };
    let due = f.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut seen = HashSet::new();
    for r in recipients {
        if !seen.insert(r.email.to_lowercase()) {
            continue;
        }
        let facts = MailFacts {
            recipient_name: r.name.to_owned(),
            deal_name: r.own.deal_name.to_owned(),
            customer_name: f.customer_name.to_owned(),
            other_party: r.other.name.to_owned(),
            link: link(frontend_url, r.own.opportunity),
            due: due.clone(),
            reason: reason.clone(),
            notes: notes.clone(),
            contacts: if r.kind == MailKind::InvitationAccepted {
                f.contacts.to_vec()
            } else {
                Vec::new()
            },
        };
        out.push(Mail {
            kind: r.kind,
            organization: r.own.organization,
            email: r.email.to_owned(),
            name: r.name.to_owned(),
            rendered: render(r.kind, &facts),
        });
    }
}

/// The columns of `email_outbox` written per row; the rest are the same for all.
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
    bulk::insert(
        txn,
        "email_outbox",
        &OUTBOX_COLS,
        cols,
        &[
            ("event_seq", Fixed::Sql("NULL")),
            ("status", Fixed::Sql("'PENDING'")),
            ("attempts", Fixed::Sql("0")),
            ("next_attempt_at", Fixed::Bind(now.into())),
            ("lease_until", Fixed::Sql("NULL")),
            ("last_error", Fixed::Sql("NULL")),
            ("sent_at", Fixed::Sql("NULL")),
            ("created_at", Fixed::Bind(now.into())),
        ],
    )
    .await?;
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
    let admins: Vec<users::Model> = users::Entity::find()
        .filter(users::Column::OrganizationId.eq(invitee.id))
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::NotificationsEnabled.eq(true))
        .all(txn)
        .await?
        .into_iter()
        .filter(|u| Role::parse_list(&u.roles).contains(&Role::ReferralAdmin))
        .collect();
    let admins: Vec<&users::Model> = admins.iter().collect();
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

/// The columns of an invitation that its emails need, as [`INVITATION_COLUMNS`] reads
/// them (from a `SELECT` or an `UPDATE … RETURNING`).
#[derive(Debug, Clone)]
pub struct InvitationFacts {
    pub id: Uuid,
    pub engagement: Uuid,
    pub inviter: Uuid,
    pub invitee: Uuid,
    pub inviter_opportunity: Uuid,
    pub invitee_opportunity: Uuid,
    pub expires_at: DateTime<Utc>,
    pub team: serde_json::Value,
}

/// The column list [`InvitationFacts::from_row`] reads.
pub const INVITATION_COLUMNS: &str = "id, engagement_id, inviter_organization_id, \
    invitee_organization_id, inviter_opportunity_id, invitee_opportunity_id, expires_at, team";

impl InvitationFacts {
    pub fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(InvitationFacts {
            id: row.try_get("", "id")?,
            engagement: row.try_get("", "engagement_id")?,
            inviter: row.try_get("", "inviter_organization_id")?,
            invitee: row.try_get("", "invitee_organization_id")?,
            inviter_opportunity: row.try_get("", "inviter_opportunity_id")?,
            invitee_opportunity: row.try_get("", "invitee_opportunity_id")?,
            expires_at: row.try_get("", "expires_at")?,
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
            .push(INVITATION_COLUMNS)
            .push(" FROM invitations WHERE id");
        bulk::push_in(&mut sql, ids);
        txn.query_all_raw(sql.build())
            .await?
            .iter()
            .map(Self::from_row)
            .collect()
    }
}

/// [`invitation`] for many invitations at once, with no acting user (a sweep's
/// notices): a few set-based reads for the whole batch (at most [`bulk::MAX_IN`]
/// invitations), then one insert of all their outbox rows, in the order of `invs`.
/// `deal_names` may hold the deal names of opportunities the caller already read; the
/// others are read here. Returns the inviter organization of each invitation.
pub async fn invitations_batch<C: ConnectionTrait>(
    txn: &C,
    deps: &Deps,
    invs: &[InvitationFacts],
    mut deal_names: HashMap<Uuid, String>,
    notice: Notice,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, Uuid>, AppError> {
    let started = std::time::Instant::now();
    let backend = txn.get_database_backend();
    // Deal names not known yet, and customer names by engagement.
    let mut opps: Vec<Uuid> = invs
        .iter()
        .flat_map(|i| [i.inviter_opportunity, i.invitee_opportunity])
        .filter(|o| !deal_names.contains_key(o))
        .collect();
    opps.sort();
    opps.dedup();
    for chunk in opps.chunks(bulk::MAX_IN) {
        let mut sql = Sql::new(backend);
        sql.push("SELECT id, deal_name FROM opportunities WHERE id");
        bulk::push_in(&mut sql, chunk);
        for row in txn.query_all_raw(sql.build()).await? {
            deal_names.insert(row.try_get("", "id")?, row.try_get("", "deal_name")?);
        }
    }
    let mut engagements: Vec<Uuid> = invs.iter().map(|i| i.engagement).collect();
    engagements.sort();
    engagements.dedup();
    let mut customers: HashMap<Uuid, String> = HashMap::with_capacity(engagements.len());
    for chunk in engagements.chunks(bulk::MAX_IN) {
        let mut sql = Sql::new(backend);
        sql.push(
            "SELECT e.id, c.name FROM engagements e JOIN customers c ON c.id = e.customer_id \
             WHERE e.id",
        );
        bulk::push_in(&mut sql, chunk);
        for row in txn.query_all_raw(sql.build()).await? {
            customers.insert(row.try_get("", "id")?, row.try_get("", "name")?);
        }
    }
    // The organizations (few), their admins, and who among the teams turned mail off.
    let teams: Vec<Vec<TeamMember>> = invs
        .iter()
        .map(|i| serde_json::from_value(i.team.clone()).unwrap_or_default())
        .collect();
    let mut org_ids: Vec<Uuid> = invs.iter().flat_map(|i| [i.inviter, i.invitee]).collect();
    org_ids.sort();
    org_ids.dedup();
    let orgs: HashMap<Uuid, organizations::Model> = organizations::Entity::find()
        .filter(organizations::Column::Id.is_in(org_ids.iter().copied()))
        .all(txn)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut invitees: Vec<Uuid> = invs.iter().map(|i| i.invitee).collect();
    invitees.sort();
    invitees.dedup();
    let users_on: Vec<users::Model> = users::Entity::find()
        .filter(users::Column::OrganizationId.is_in(invitees.iter().copied()))
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::NotificationsEnabled.eq(true))
        .all(txn)
        .await?;
    let mut admins: HashMap<Uuid, Vec<&users::Model>> = HashMap::new();
    for u in &users_on {
        if Role::parse_list(&u.roles).contains(&Role::ReferralAdmin) {
            admins.entry(u.organization_id).or_default().push(u);
        }
    }
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
    let mut contacts: HashMap<Uuid, Vec<(String, String, String)>> = HashMap::new();
    if matches!(notice, Notice::Accepted) {
        let opps: Vec<Uuid> = invs.iter().map(|i| i.invitee_opportunity).collect();
        for chunk in opps.chunks(bulk::MAX_IN) {
            for m in store::teams(txn, chunk).await? {
                contacts
                    .entry(m.opportunity_id)
                    .or_default()
                    .push((m.name, m.email, m.phone));
            }
        }
    }
    let loaded = started.elapsed();

    let none = Vec::new();
    let mut found = HashMap::with_capacity(invs.len());
    let mut mails = Vec::with_capacity(invs.len() * 3);
    for (inv, team) in invs.iter().zip(&teams) {
        let inviter = orgs.get(&inv.inviter).ok_or_else(|| missing("inviter"))?;
        let invitee = orgs.get(&inv.invitee).ok_or_else(|| missing("invitee"))?;
        let deal = |id, what| {
            deal_names
                .get(id)
                .map(String::as_str)
                .ok_or_else(|| missing(what))
        };
        let inviter_team: Vec<TeamMember> = team
            .iter()
            .filter(|m| m.notify && !muted.contains(&m.email.to_lowercase()))
            .cloned()
            .collect();
        let facts = Facts {
            inviter: Party {
                organization: inviter.id,
                name: &inviter.name,
                opportunity: inv.inviter_opportunity,
                deal_name: deal(&inv.inviter_opportunity, "inviter opportunity")?,
            },
            invitee: Party {
                organization: invitee.id,
                name: &invitee.name,
                opportunity: inv.invitee_opportunity,
                deal_name: deal(&inv.invitee_opportunity, "invitee opportunity")?,
            },
            customer_name: customers
                .get(&inv.engagement)
                .ok_or_else(|| missing("customer"))?,
            expires_at: inv.expires_at,
            inviter_team: &inviter_team,
            admins: admins.get(&invitee.id).map_or(&[][..], Vec::as_slice),
            actor: None,
            contacts: contacts.get(&inv.invitee_opportunity).unwrap_or(&none),
        };
        compose(&deps.frontend_url, &facts, &notice, &mut mails);
        found.insert(inv.id, inv.inviter);
    }
    let composed = started.elapsed();
    let n = mails.len();
    queue(txn, mails, now).await?;
    tracing::debug!(
        invitations = invs.len(),
        mails = n,
        load_ms = loaded.as_millis() as u64,
        compose_ms = (composed - loaded).as_millis() as u64,
        queue_ms = (started.elapsed() - composed).as_millis() as u64,
        "notify: a batch"
    );
    Ok(found)
}

/// Lower-case emails of users who turned notifications off: a team member with such an
/// email gets no mail either.
async fn muted_emails<C: ConnectionTrait>(
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
    let id = crate::domain::global_id::encode("Opportunity", opportunity);
    format!("{}/opportunities/{id}", base.trim_end_matches('/'))
}
