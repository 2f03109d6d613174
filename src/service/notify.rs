//! Who is emailed about an invitation's events (SPEC §8), written as outbox rows in the
//! event's own transaction. People who turned notifications off get none.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{email_outbox, invitations, users};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::Deps;
use super::deal_input::TeamMember;
use crate::domain::Role;
use crate::email::templates::{Facts, MailKind, render};
use crate::error::AppError;
use crate::store::{deals as store, directory};

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

struct Recipient {
    name: String,
    email: String,
    organization: Uuid,
    kind: MailKind,
    /// The recipient's own side: its organization is "us", the other side "them".
    own_opportunity: Uuid,
    other_party: String,
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
    let missing = |what: &str| AppError::Internal(anyhow::anyhow!("{what} missing for an email"));
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

    let team_emails: Vec<String> = serde_json::from_value::<Vec<TeamMember>>(inv.team.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.email)
        .collect();
    let muted = muted_emails(txn, &team_emails).await?;
    let admins: Vec<users::Model> = users::Entity::find()
        .filter(users::Column::OrganizationId.eq(invitee.id))
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::NotificationsEnabled.eq(true))
        .all(txn)
        .await?
        .into_iter()
        .filter(|u| Role::parse_list(&u.roles).contains(&Role::ReferralAdmin))
        .collect();
    let actor_user = match actor {
        Some(id) => directory::user(txn, id)
            .await?
            .filter(|u| u.active && u.notifications_enabled),
        None => None,
    };
    let inviter_team: Vec<TeamMember> = serde_json::from_value::<Vec<TeamMember>>(inv.team.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.notify && !muted.contains(&m.email.to_lowercase()))
        .collect();

    let to_invitee_admins = |kind| {
        admins
            .iter()
            .map(|u| Recipient {
                name: u.name.clone(),
                email: u.email.clone(),
                organization: invitee.id,
                kind,
                own_opportunity: invitee_opp.id,
                other_party: inviter.name.clone(),
            })
            .collect::<Vec<_>>()
    };
    let to_inviter_team = |kind| {
        inviter_team
            .iter()
            .map(|m| Recipient {
                name: m.name.clone(),
                email: m.email.clone(),
                organization: inviter.id,
                kind,
                own_opportunity: inviter_opp.id,
                other_party: invitee.name.clone(),
            })
            .collect::<Vec<_>>()
    };
    let to_actor = |kind, own_opportunity, organization, other_party: &str| {
        actor_user
            .iter()
            .map(|u| Recipient {
                name: u.name.clone(),
                email: u.email.clone(),
                organization,
                kind,
                own_opportunity,
                other_party: other_party.to_owned(),
            })
            .collect::<Vec<_>>()
    };
    let mut contacts = Vec::new();
    let (mut recipients, reason, notes) = match &notice {
        Notice::Sent => {
            let mut r = to_invitee_admins(MailKind::InvitationReceived);
            r.extend(to_actor(
                MailKind::InvitationSent,
                inviter_opp.id,
                inviter.id,
                &invitee.name,
            ));
            (r, None, None)
        }
        Notice::Accepted => {
            contacts = store::teams(txn, &[invitee_opp.id])
                .await?
                .into_iter()
                .map(|m| (m.name, m.email, m.phone))
                .collect();
            let mut r = to_inviter_team(MailKind::InvitationAccepted);
            r.extend(to_actor(
                MailKind::AcceptedConfirmation,
                invitee_opp.id,
                invitee.id,
                &inviter.name,
            ));
            (r, None, None)
        }
        Notice::Declined { reason, notes } => {
            let mut r = to_inviter_team(MailKind::InvitationDeclined);
            r.extend(to_actor(
                MailKind::DeclinedConfirmation,
                invitee_opp.id,
                invitee.id,
                &inviter.name,
            ));
            (r, Some(reason.clone()), notes.clone())
        }
        Notice::ExpiringSoon => (
            to_invitee_admins(MailKind::InvitationExpiringSoon),
            None,
            None,
        ),
        Notice::Expired => {
            let mut r = to_inviter_team(MailKind::InvitationExpired);
            r.extend(to_invitee_admins(MailKind::InvitationExpired));
            (r, None, None)
        }
    };
    let mut seen = HashSet::new();
    recipients.retain(|r| seen.insert(r.email.to_lowercase()));

    let mut rows = Vec::new();
    for r in recipients {
        let own = if r.own_opportunity == inviter_opp.id {
            &inviter_opp
        } else {
            &invitee_opp
        };
        let facts = Facts {
            recipient_name: r.name.clone(),
            deal_name: own.deal_name.clone(),
            customer_name: customer.name.clone(),
            other_party: r.other_party.clone(),
            link: link(&deps.frontend_url, r.own_opportunity),
            due: inv.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            reason: reason.clone(),
            notes: notes.clone(),
            contacts: if r.kind == MailKind::InvitationAccepted {
                contacts.clone()
            } else {
                Vec::new()
            },
        };
        let rendered = render(r.kind, &facts);
        rows.push(email_outbox::ActiveModel::from(email_outbox::Model {
            id: Uuid::now_v7(),
            event_seq: None,
            kind: r.kind.as_str().to_owned(),
            organization_id: Some(r.organization),
            recipient_email: r.email,
            recipient_name: r.name,
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            status: "PENDING".to_owned(),
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            last_error: None,
            sent_at: None,
            created_at: now,
        }));
    }
    if !rows.is_empty() {
        email_outbox::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
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
