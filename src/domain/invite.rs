//! Who may invite whom (SPEC §6), and what it does to the deal type.
use std::fmt;

use super::deal::{DealType, Direction};
use super::principal::OrgKind;

/// What the rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteCase {
    /// The engagement's deal type now.
    pub deal_type: DealType,
    /// The inviting opportunity's direction: outbound is the originator.
    pub inviter_direction: Direction,
    /// Kind of the organization being invited.
    pub invitee_kind: OrgKind,
    /// The invitee is the inviting organization itself.
    pub invitee_is_inviter: bool,
    /// The invitee already holds an open (pending or accepted) place in the engagement.
    pub invitee_holds_open_place: bool,
    /// The engagement has a customer contact whose consent to share it with Microsoft
    /// was given.
    pub contact_consented: bool,
}

/// Why an invitation may not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteRefusal {
    /// An inbound participant of a co-sell deal invites nobody; of a partner-to-partner
    /// deal only Microsoft. (`FORBIDDEN`)
    NotFromInbound,
    /// An organization cannot invite itself. (`BAD_USER_INPUT`)
    SelfInvite,
    /// The invitee already holds an open place. (`BAD_USER_INPUT`)
    AlreadyParticipates,
    /// Microsoft needs the customer contact with consent first. (`BAD_USER_INPUT`)
    ConsentRequired,
}

impl fmt::Display for InviteRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InviteRefusal::NotFromInbound => {
                "an invited participant may not invite this organization: partners are invited by the originator, and Microsoft only into a partner-to-partner deal"
            }
            InviteRefusal::SelfInvite => "an organization cannot invite itself",
            InviteRefusal::AlreadyParticipates => {
                "this organization already holds an open place in the engagement"
            }
            InviteRefusal::ConsentRequired => {
                "inviting Microsoft needs the customer contact and the customer's consent to share it"
            }
        })
    }
}

/// The who-may-invite table: the deal type after the invitation, or why it may not be
/// sent. The inviting opportunity's stage is the transition table's business.
pub fn may_invite(case: InviteCase) -> Result<DealType, InviteRefusal> {
    let microsoft = case.invitee_kind == OrgKind::Microsoft;
    let allowed_by_table = match (case.deal_type, case.inviter_direction) {
        (_, Direction::Outbound) => true,
        (DealType::PartnerToPartner, Direction::Inbound) => microsoft,
        (DealType::CoSell | DealType::Private, Direction::Inbound) => false,
    };
    if !allowed_by_table {
        return Err(InviteRefusal::NotFromInbound);
    }
    if case.invitee_is_inviter {
        return Err(InviteRefusal::SelfInvite);
    }
    if case.invitee_holds_open_place {
        return Err(InviteRefusal::AlreadyParticipates);
    }
    if microsoft && !case.contact_consented {
        return Err(InviteRefusal::ConsentRequired);
    }
    let wanted = if microsoft {
        DealType::CoSell
    } else {
        DealType::PartnerToPartner
    };
    Ok(case.deal_type.upgrade(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DealType::*;
    use Direction::*;

    fn case(deal_type: DealType, dir: Direction, invitee: OrgKind) -> InviteCase {
        InviteCase {
            deal_type,
            inviter_direction: dir,
            invitee_kind: invitee,
            invitee_is_inviter: false,
            invitee_holds_open_place: false,
            contact_consented: true,
        }
    }

    /// The table of SPEC §6, row by row.
    #[test]
    fn who_may_invite_whom() {
        let ms = OrgKind::Microsoft;
        let p = OrgKind::Partner;
        let rows = [
            (Private, Outbound, ms, Ok(CoSell)),
            (Private, Outbound, p, Ok(PartnerToPartner)),
            (CoSell, Outbound, p, Ok(CoSell)),
            (CoSell, Outbound, ms, Ok(CoSell)),
            (CoSell, Inbound, p, Err(InviteRefusal::NotFromInbound)),
            (CoSell, Inbound, ms, Err(InviteRefusal::NotFromInbound)),
            (PartnerToPartner, Outbound, ms, Ok(CoSell)),
            (PartnerToPartner, Outbound, p, Ok(PartnerToPartner)),
            (PartnerToPartner, Inbound, ms, Ok(CoSell)),
            (
                PartnerToPartner,
                Inbound,
                p,
                Err(InviteRefusal::NotFromInbound),
            ),
            (Private, Inbound, p, Err(InviteRefusal::NotFromInbound)),
            (Private, Inbound, ms, Err(InviteRefusal::NotFromInbound)),
        ];
        for (dt, dir, kind, expected) in rows {
            assert_eq!(
                may_invite(case(dt, dir, kind)),
                expected,
                "{dt:?} {dir:?} {kind:?}"
            );
        }
    }

    #[test]
    fn microsoft_again_only_after_its_place_closed() {
        let mut c = case(CoSell, Outbound, OrgKind::Microsoft);
        c.invitee_holds_open_place = true;
        assert_eq!(may_invite(c), Err(InviteRefusal::AlreadyParticipates));
        c.invitee_holds_open_place = false;
        assert_eq!(may_invite(c), Ok(CoSell));
    }

    #[test]
    fn microsoft_needs_consent() {
        let mut c = case(Private, Outbound, OrgKind::Microsoft);
        c.contact_consented = false;
        assert_eq!(may_invite(c), Err(InviteRefusal::ConsentRequired));
        let mut p = case(Private, Outbound, OrgKind::Partner);
        p.contact_consented = false;
        assert_eq!(may_invite(p), Ok(PartnerToPartner));
    }

    #[test]
    fn nobody_invites_itself() {
        let mut c = case(Private, Outbound, OrgKind::Partner);
        c.invitee_is_inviter = true;
        assert_eq!(may_invite(c), Err(InviteRefusal::SelfInvite));
    }
}
