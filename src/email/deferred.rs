//! Emails queued as the invitation they are about rather than as text (the sweeps'
//! notices: expired, expiring soon; see `service::notify::invitations_deferred`) are
//! rendered here, when the worker delivers them: the recipient (name, address, side)
//! comes from the row, everything else from the invitation it names — the deal of the
//! recipient's side, the other side, the customer, the window's end, the link — through
//! the same [`InvitationMail`] and templates as the emails rendered when queued. A sweep
//! writes ~150 bytes per email instead of ~1 KB of subject, text and HTML.
//!
//! The facts are read at delivery. Every fact but the names is fixed once the
//! invitation is sent (its opportunities, organizations, customer, window); a deal,
//! customer or organization renamed between the sweep and the delivery (normally under
//! a second apart) shows under its new name, as the front end shows it.
use std::collections::HashMap;

use entity::{customers, email_outbox, engagements, invitations, opportunities, organizations};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, TryGetable,
};
use uuid::Uuid;

use super::templates::{InvitationMail, MailKind, Party, render};

/// Ids per `IN (...)` list: well under SQLite's bind limit.
const CHUNK: usize = 1000;

/// Whether the row's subject and bodies are rendered at delivery.
pub fn is_deferred(row: &email_outbox::Model) -> bool {
    row.invitation_id.is_some()
}

/// The kinds that can be rendered from an invitation alone (no reason, notes or
/// contacts, which only the acting mutation knows).
fn renderable(kind: MailKind) -> bool {
    matches!(
        kind,
        MailKind::InvitationExpired
            | MailKind::InvitationExpiringSoon
            | MailKind::InvitationReceived
            | MailKind::InvitationSent
    )
}

/// Fills in the subject and bodies of the deferred rows among `rows` (the others are
/// left as they are). Returns the rows that cannot be rendered (their invitation, or a
/// fact it names, is gone; or a kind that needs more than the invitation), with why:
/// retrying would not help them.
pub async fn render_rows<C: ConnectionTrait>(
    db: &C,
    frontend_url: &str,
    rows: &mut [email_outbox::Model],
) -> Result<HashMap<Uuid, String>, DbErr> {
    let mut broken = HashMap::new();
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|r| r.invitation_id).collect();
    if ids.is_empty() {
        return Ok(broken);
    }
    ids.sort();
    ids.dedup();
    let mut invs: HashMap<Uuid, invitations::Model> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        for i in invitations::Entity::find()
            .filter(invitations::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            invs.insert(i.id, i);
        }
    }
    let deal_names: HashMap<Uuid, String> = column_by_id::<opportunities::Entity, _, _>(
        db,
        invs.values()
            .flat_map(|i| [i.inviter_opportunity_id, i.invitee_opportunity_id]),
        opportunities::Column::Id,
        opportunities::Column::DealName,
    )
    .await?;
    let customer_of: HashMap<Uuid, Uuid> = column_by_id::<engagements::Entity, _, _>(
        db,
        invs.values().map(|i| i.engagement_id),
        engagements::Column::Id,
        engagements::Column::CustomerId,
    )
    .await?;
    let customer_names: HashMap<Uuid, String> = column_by_id::<customers::Entity, _, _>(
        db,
        customer_of.values().copied(),
        customers::Column::Id,
        customers::Column::Name,
    )
    .await?;
    let org_names: HashMap<Uuid, String> = column_by_id::<organizations::Entity, _, _>(
        db,
        invs.values()
            .flat_map(|i| [i.inviter_organization_id, i.invitee_organization_id]),
        organizations::Column::Id,
        organizations::Column::Name,
    )
    .await?;

    let facts = Loaded {
        invs: &invs,
        deal_names: &deal_names,
        customer_of: &customer_of,
        customer_names: &customer_names,
        org_names: &org_names,
    };
    for row in rows.iter_mut().filter(|r| is_deferred(r)) {
        match facts.render(frontend_url, row) {
            Ok(r) => {
                row.subject = r.subject;
                row.body_text = r.text;
                row.body_html = r.html;
            }
            Err(why) => {
                broken.insert(row.id, why);
            }
        }
    }
    Ok(broken)
}

/// `value` of the rows of `E` whose `id` is among `ids` (each id once, in chunks).
async fn column_by_id<E, V, C>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
    id: E::Column,
    value: E::Column,
) -> Result<HashMap<Uuid, V>, DbErr>
where
    E: EntityTrait,
    V: TryGetable,
    C: ConnectionTrait,
{
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<(Uuid, V)> = E::find()
            .select_only()
            .column(id)
            .column(value)
            .filter(id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// The facts of a batch of rows, loaded.
struct Loaded<'a> {
    invs: &'a HashMap<Uuid, invitations::Model>,
    deal_names: &'a HashMap<Uuid, String>,
    customer_of: &'a HashMap<Uuid, Uuid>,
    customer_names: &'a HashMap<Uuid, String>,
    org_names: &'a HashMap<Uuid, String>,
}

impl Loaded<'_> {
    fn render(
        &self,
        frontend_url: &str,
        row: &email_outbox::Model,
    ) -> Result<super::templates::Rendered, String> {
        let kind = MailKind::parse(&row.kind)
            .filter(|k| renderable(*k))
            .ok_or_else(|| format!("cannot render a {} email at delivery", row.kind))?;
        let inv = row
            .invitation_id
            .and_then(|id| self.invs.get(&id))
            .ok_or("its invitation is gone")?;
        let party = |organization: Uuid, opportunity: Uuid| -> Result<Party<'_>, String> {
            Ok(Party {
                organization,
                name: self
                    .org_names
                    .get(&organization)
                    .ok_or("an organization is gone")?,
                opportunity,
                deal_name: self
                    .deal_names
                    .get(&opportunity)
                    .ok_or("an opportunity is gone")?,
            })
        };
        let inviter = party(inv.inviter_organization_id, inv.inviter_opportunity_id)?;
        let invitee = party(inv.invitee_organization_id, inv.invitee_opportunity_id)?;
        // The row's organization is the recipient's side.
        let (own, other) = match row.organization_id {
            Some(o) if o == invitee.organization => (invitee, inviter),
            Some(o) if o == inviter.organization => (inviter, invitee),
            _ => return Err("the recipient is on neither side".to_owned()),
        };
        let customer_name = self
            .customer_of
            .get(&inv.engagement_id)
            .and_then(|c| self.customer_names.get(c))
            .ok_or("the customer is gone")?;
        let mail = InvitationMail {
            recipient_name: &row.recipient_name,
            own,
            other,
            customer_name,
            expires_at: inv.expires_at,
        };
        Ok(render(
            kind,
            &mail.facts(frontend_url, None, None, Vec::new()),
        ))
    }
}
