//! The emails' text: subject, plain-text and HTML parts, from typed facts. Plain Rust
//! functions, so the compiler checks every placeholder; HTML is escaped here, once.
use std::fmt::Write;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// To the invitee's referral admins: an opportunity came in.
    InvitationReceived,
    /// To the inviting user: sent, and when the answer is due.
    InvitationSent,
    /// To the inviter's team: accepted, with the invitee's team contacts.
    InvitationAccepted,
    /// To the accepting user.
    AcceptedConfirmation,
    /// To the inviter's team: declined, with reason and notes.
    InvitationDeclined,
    /// To the declining user.
    DeclinedConfirmation,
    /// To the invitee's referral admins, before the window ends.
    InvitationExpiringSoon,
    /// To the inviter's team and the invitee's referral admins.
    InvitationExpired,
    /// To the registering partner's team and Microsoft's reviewers: a deal registration
    /// changed status (`Facts::reason` holds the new status).
    RegistrationUpdate,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 9] = [
        MailKind::InvitationReceived,
        MailKind::InvitationSent,
        MailKind::InvitationAccepted,
        MailKind::AcceptedConfirmation,
        MailKind::InvitationDeclined,
        MailKind::DeclinedConfirmation,
        MailKind::InvitationExpiringSoon,
        MailKind::InvitationExpired,
        MailKind::RegistrationUpdate,
    ];

    /// The kind named `s` (as [`MailKind::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::InvitationReceived => "INVITATION_RECEIVED",
            MailKind::InvitationSent => "INVITATION_SENT",
            MailKind::InvitationAccepted => "INVITATION_ACCEPTED",
            MailKind::AcceptedConfirmation => "ACCEPTED_CONFIRMATION",
            MailKind::InvitationDeclined => "INVITATION_DECLINED",
            MailKind::DeclinedConfirmation => "DECLINED_CONFIRMATION",
            MailKind::InvitationExpiringSoon => "INVITATION_EXPIRING_SOON",
            MailKind::InvitationExpired => "INVITATION_EXPIRED",
            MailKind::RegistrationUpdate => "REGISTRATION_UPDATE",
        }
    }
}

/// Everything an email names.
#[derive(Debug, Clone)]
pub struct Facts {
    pub recipient_name: String,
    pub deal_name: String,
    pub customer_name: String,
    /// The organization on the other side of the invitation, from the recipient's view.
    pub other_party: String,
    /// Link to the recipient's own opportunity in the front end.
    pub link: String,
    /// When the response window ends (RFC 3339 date and time, UTC).
    pub due: String,
    /// Decline reason and notes, when declined.
    pub reason: Option<String>,
    pub notes: Option<String>,
    /// Team contacts to pass on (name, email, phone).
    pub contacts: Vec<(String, String, String)>,
}

/// One side of an invitation, as its emails name it.
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    pub organization: Uuid,
    pub name: &'a str,
    pub opportunity: Uuid,
    pub deal_name: &'a str,
}

/// What an invitation's email to one recipient names: the deal of the recipient's own
/// side (`own`), the other side, the customer, the window's end, a link to the
/// recipient's opportunity. The one place these are put together, whether the email is
/// rendered when queued or at delivery (`email::deferred`).
pub struct InvitationMail<'a> {
    pub recipient_name: &'a str,
    pub own: Party<'a>,
    pub other: Party<'a>,
    pub customer_name: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl InvitationMail<'_> {
    pub fn facts(
        &self,
        frontend_url: &str,
        reason: Option<String>,
        notes: Option<String>,
        contacts: Vec<(String, String, String)>,
    ) -> Facts {
        Facts {
            recipient_name: self.recipient_name.to_owned(),
            deal_name: self.own.deal_name.to_owned(),
            customer_name: self.customer_name.to_owned(),
            other_party: self.other.name.to_owned(),
            link: link(frontend_url, self.own.opportunity),
            due: self.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            reason,
            notes,
            contacts,
        }
    }
}

/// The front end's page of an opportunity.
pub fn link(base: &str, opportunity: Uuid) -> String {
    let id = crate::domain::global_id::encode("Opportunity", opportunity);
    format!("{}/opportunities/{id}", base.trim_end_matches('/'))
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(kind: MailKind, f: &Facts) -> Rendered {
    let (subject, lead) = match kind {
        MailKind::InvitationReceived => (
            format!(
                "New co-sell opportunity from {}: {}",
                f.other_party, f.deal_name
            ),
            format!(
                "{} invites you to co-sell \"{}\" for {}. Please accept or decline by {}.",
                f.other_party, f.deal_name, f.customer_name, f.due
            ),
        ),
        MailKind::InvitationSent => (
            format!("Invitation sent to {}: {}", f.other_party, f.deal_name),
            format!(
                "Your invitation to {} for \"{}\" ({}) was sent. Expect an answer by {}.",
                f.other_party, f.deal_name, f.customer_name, f.due
            ),
        ),
        MailKind::InvitationAccepted => (
            format!("{} accepted: {}", f.other_party, f.deal_name),
            format!(
                "{} accepted your invitation for \"{}\" ({}). Their team is listed below.",
                f.other_party, f.deal_name, f.customer_name
            ),
        ),
        MailKind::AcceptedConfirmation => (
            format!("You accepted: {}", f.deal_name),
            format!(
                "You accepted the invitation of {} for \"{}\" ({}).",
                f.other_party, f.deal_name, f.customer_name
            ),
        ),
        MailKind::InvitationDeclined => (
            format!("{} declined: {}", f.other_party, f.deal_name),
            format!(
                "{} declined your invitation for \"{}\" ({}).",
                f.other_party, f.deal_name, f.customer_name
            ),
        ),
        MailKind::DeclinedConfirmation => (
            format!("You declined: {}", f.deal_name),
            format!(
                "You declined the invitation of {} for \"{}\" ({}).",
                f.other_party, f.deal_name, f.customer_name
            ),
        ),
        MailKind::InvitationExpiringSoon => (
            format!("Answer soon: {} from {}", f.deal_name, f.other_party),
            format!(
                "The invitation of {} for \"{}\" ({}) expires at {}. Accept or decline before then.",
                f.other_party, f.deal_name, f.customer_name, f.due
            ),
        ),
        MailKind::RegistrationUpdate => (
            format!(
                "Deal registration {}: {}",
                f.reason.as_deref().unwrap_or("updated"),
                f.deal_name
            ),
            format!(
                "The registration of \"{}\" ({}) with {} is now {}.",
                f.deal_name,
                f.customer_name,
                f.other_party,
                f.reason.as_deref().unwrap_or("updated")
            ),
        ),
        MailKind::InvitationExpired => (
            format!("Invitation expired: {}", f.deal_name),
            format!(
                "The invitation between you and {} for \"{}\" ({}) expired unanswered at {}.",
                f.other_party, f.deal_name, f.customer_name, f.due
            ),
        ),
    };
    let mut text = format!("Hello {},\n\n{}\n", f.recipient_name, lead);
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello {},</p><p>{}</p>",
        escape(&f.recipient_name),
        escape(&lead)
    );
    if let Some(r) = &f.reason {
        let _ = write!(text, "\nReason: {r}\n");
        let _ = write!(html, "<p><strong>Reason:</strong> {}</p>", escape(r));
    }
    if let Some(n) = f.notes.as_deref().filter(|n| !n.is_empty()) {
        let _ = writeln!(text, "Notes: {n}");
        let _ = write!(html, "<p><strong>Notes:</strong> {}</p>", escape(n));
    }
    if !f.contacts.is_empty() {
        text.push_str("\nTeam:\n");
        html.push_str("<p><strong>Team:</strong></p><ul>");
        for (name, email, phone) in &f.contacts {
            let _ = writeln!(text, "- {name} <{email}> {phone}");
            let _ = write!(
                html,
                "<li>{} &lt;{}&gt; {}</li>",
                escape(name),
                escape(email),
                escape(phone)
            );
        }
        html.push_str("</ul>");
    }
    let _ = write!(text, "\nOpen the opportunity: {}\n", f.link);
    let _ = write!(
        html,
        "<p><a href=\"{}\">Open the opportunity</a></p></body></html>",
        escape(&f.link)
    );
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            recipient_name: "Frank <Admin>".into(),
            deal_name: "Copilot & rollout".into(),
            customer_name: "Müller GmbH".into(),
            other_party: "Contoso Consulting".into(),
            link: "https://app.example/opportunities/abc".into(),
            due: "2026-12-08T10:00:00Z".into(),
            reason: Some("BUDGET_NOT_ADEQUATE".into()),
            notes: Some("<script>".into()),
            contacts: vec![("Anna".into(), "anna@contoso.example".into(), "+4930".into())],
        }
    }

    #[test]
    fn every_email_names_deal_customer_other_party_and_link_in_both_parts() {
        for kind in MailKind::ALL {
            let r = render(kind, &facts());
            for part in [&r.text, &r.html] {
                assert!(part.contains("Müller GmbH"), "{kind:?}");
                assert!(part.contains("Contoso Consulting"), "{kind:?}");
                assert!(
                    part.contains("https://app.example/opportunities/abc"),
                    "{kind:?}"
                );
            }
            assert!(r.text.contains("Copilot & rollout"));
            assert!(r.html.contains("Copilot &amp; rollout"));
            assert!(!r.html.contains("<script>"), "HTML is escaped");
        }
    }
}
