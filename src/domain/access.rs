//! What a viewer may see and do: opportunity visibility, and the actions offered on an
//! opportunity, derived from the transition table and the invitation table.
use super::deal::{Action, DealType, Direction, Stage, transition};
use super::event::EventKind;
use super::invite::{InviteCase, may_invite};
use super::principal::{OrgKind, Viewer};

/// Whether `viewer` sees (and may work) an opportunity of `owner` whose team lists
/// `team_emails` (lower case): admins see their organization's, users their team's.
pub fn sees_opportunity(viewer: &Viewer, owner: uuid::Uuid, team_emails: &[String]) -> bool {
    viewer.organization_id == owner
        && (viewer.sees_whole_organization() || team_emails.contains(&viewer.email))
}

/// The actions a front end may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offer {
    Accept,
    Decline,
    Update,
    AddTeamMember,
    UpdateTeamMember,
    RemoveTeamMember,
    AddSolution,
    RemoveSolution,
    MarkWon,
    MarkLost,
    InviteMicrosoft,
    InvitePartner,
    /// Register the won deal for Microsoft's review.
    RegisterDeal,
}

/// What `available_actions` looks at, for an opportunity the viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferCase {
    pub stage: Stage,
    pub direction: Direction,
    pub deal_type: DealType,
    pub viewer_kind: OrgKind,
    /// The response window of a received invitation is still open.
    pub window_open: bool,
    pub team_size: usize,
    pub solution_count: usize,
    pub microsoft_holds_open_place: bool,
    pub contact_consented: bool,
    /// `registration::eligibility` says the deal can be registered now.
    pub registrable: bool,
}

/// The actions the viewer may take now, derived from [`transition`] and [`may_invite`],
/// so the API and the rules never disagree.
pub fn available_actions(c: OfferCase) -> Vec<Offer> {
    let can = |a: Action| transition(c.stage, a).is_ok();
    let mut out = Vec::new();
    if can(Action::Accept) && c.window_open {
        out.push(Offer::Accept);
    }
    if can(Action::Decline) && c.window_open {
        out.push(Offer::Decline);
    }
    if can(Action::Update) {
        out.push(Offer::Update);
    }
    if can(Action::AddTeamMember) {
        out.push(Offer::AddTeamMember);
    }
    if can(Action::UpdateTeamMember) {
        out.push(Offer::UpdateTeamMember);
    }
    if can(Action::RemoveTeamMember) && c.team_size > 1 {
        out.push(Offer::RemoveTeamMember);
    }
    if can(Action::AddSolution) {
        out.push(Offer::AddSolution);
    }
    if can(Action::RemoveSolution) && c.solution_count > 1 {
        out.push(Offer::RemoveSolution);
    }
    if can(Action::MarkWon) {
        out.push(Offer::MarkWon);
    }
    if can(Action::MarkLost) {
        out.push(Offer::MarkLost);
    }
    if can(Action::Invite) {
        let base = InviteCase {
            deal_type: c.deal_type,
            inviter_direction: c.direction,
            invitee_kind: OrgKind::Microsoft,
            invitee_is_inviter: c.viewer_kind == OrgKind::Microsoft,
            invitee_holds_open_place: c.microsoft_holds_open_place,
            contact_consented: c.contact_consented,
        };
        if may_invite(base).is_ok() {
            out.push(Offer::InviteMicrosoft);
        }
        let partner = InviteCase {
            invitee_kind: OrgKind::Partner,
            invitee_is_inviter: false,
            invitee_holds_open_place: false,
            ..base
        };
        if may_invite(partner).is_ok() {
            out.push(Offer::InvitePartner);
        }
    }
    if c.stage == Stage::Won && c.registrable {
        out.push(Offer::RegisterDeal);
    }
    out
}

/// Whether `viewer` sees an event of `kind` shown to `audience`: its organization must
/// be in the audience (the organizations party to the event, decided when it is
/// written), and a referral user must be on its organization's team in the engagement
/// (`on_team`), exactly as for the opportunities themselves. A registration's steps
/// also reach Microsoft's registration reviewers, whose work they are, whether or not
/// Microsoft is in the audience; Microsoft's other users see them only by the first
/// rule, as participants. Never false for `on_team` where it is true without it.
pub fn sees_event(
    viewer: &Viewer,
    kind: Option<EventKind>,
    audience: &[uuid::Uuid],
    on_team: bool,
) -> bool {
    if kind.is_some_and(EventKind::is_registration) && viewer.reviews_registrations() {
        return true;
    }
    audience.contains(&viewer.organization_id) && (viewer.sees_whole_organization() || on_team)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use uuid::Uuid;

    fn viewer(roles: Vec<Role>) -> Viewer {
        Viewer {
            user_id: Uuid::nil(),
            email: "ana@p.example".into(),
            organization_id: Uuid::from_u128(1),
            organization_kind: OrgKind::Partner,
            tenant_id: Uuid::nil(),
            roles,
        }
    }

    fn microsoft(roles: Vec<Role>) -> Viewer {
        Viewer {
            organization_id: Uuid::from_u128(9),
            organization_kind: OrgKind::Microsoft,
            ..viewer(roles)
        }
    }

    #[test]
    fn events_follow_the_audience_and_for_users_the_team() {
        let org = Uuid::from_u128(1);
        let admin = viewer(vec![Role::ReferralAdmin]);
        let user = viewer(vec![Role::ReferralUser]);
        for kind in [
            Some(EventKind::DealWon),
            Some(EventKind::RegistrationSubmitted),
            None,
        ] {
            assert!(sees_event(&admin, kind, &[org], false));
            assert!(!sees_event(&admin, kind, &[Uuid::from_u128(2)], true));
            assert!(!sees_event(&user, kind, &[org], false));
            assert!(sees_event(&user, kind, &[org], true));
        }
    }

    #[test]
    fn registration_events_reach_reviewers_and_microsoft_users_only_as_participants() {
        let partner = Uuid::from_u128(1);
        let ms = Uuid::from_u128(9);
        let reviewer = microsoft(vec![Role::ReferralUser, Role::RegistrationReviewer]);
        let admin = microsoft(vec![Role::ReferralAdmin, Role::AccountAdmin]);
        let seller = microsoft(vec![Role::ReferralUser]);
        // Microsoft has no side in the engagement: only the reviewers see the steps.
        for kind in EventKind::ALL.into_iter().filter(|k| k.is_registration()) {
            assert!(
                sees_event(&reviewer, Some(kind), &[partner], false),
                "{kind:?}"
            );
            assert!(
                !sees_event(&admin, Some(kind), &[partner], false),
                "{kind:?}"
            );
            assert!(
                !sees_event(&seller, Some(kind), &[partner], true),
                "{kind:?}"
            );
        }
        // Microsoft participates: its users see them as they see its other events.
        let both = [partner, ms];
        let kind = Some(EventKind::RegistrationApproved);
        assert!(sees_event(&admin, kind, &both, false));
        assert!(sees_event(&seller, kind, &both, true));
        assert!(!sees_event(&seller, kind, &both, false));
        // The role opens registration events only, and only in Microsoft's organization.
        assert!(!sees_event(
            &reviewer,
            Some(EventKind::DealWon),
            &[partner],
            false
        ));
        assert!(!sees_event(
            &reviewer,
            Some(EventKind::DealWon),
            &both,
            false
        ));
        assert!(!sees_event(&reviewer, None, &[partner], false));
        let partner_reviewer = viewer(vec![Role::ReferralUser, Role::RegistrationReviewer]);
        let elsewhere = [Uuid::from_u128(3)];
        assert!(!sees_event(&partner_reviewer, kind, &elsewhere, true));
    }

    /// The subscription gate admits an event without reading the team only when being on
    /// the team could not matter.
    #[test]
    fn being_on_the_team_never_hides_an_event() {
        let viewers = [
            viewer(vec![Role::ReferralAdmin]),
            viewer(vec![Role::ReferralUser]),
            microsoft(vec![Role::ReferralUser, Role::RegistrationReviewer]),
            microsoft(vec![Role::ReferralAdmin]),
        ];
        let audiences = [
            vec![],
            vec![Uuid::from_u128(1)],
            vec![Uuid::from_u128(1), Uuid::from_u128(9)],
        ];
        let kinds = EventKind::ALL.into_iter().map(Some).chain([None]);
        for kind in kinds {
            for v in &viewers {
                for a in &audiences {
                    if sees_event(v, kind, a, false) {
                        assert!(sees_event(v, kind, a, true), "{kind:?} {v:?} {a:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn admins_see_their_organizations_opportunities_users_their_teams() {
        let own = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let admin = viewer(vec![Role::ReferralAdmin]);
        let user = viewer(vec![Role::ReferralUser]);
        let team = vec!["ana@p.example".to_owned()];
        assert!(sees_opportunity(&admin, own, &[]));
        assert!(!sees_opportunity(&admin, other, &team));
        assert!(!sees_opportunity(&user, own, &[]));
        assert!(sees_opportunity(&user, own, &team));
        assert!(!sees_opportunity(&user, other, &team));
    }

    fn case(stage: Stage) -> OfferCase {
        OfferCase {
            stage,
            direction: Direction::Outbound,
            deal_type: DealType::Private,
            viewer_kind: OrgKind::Partner,
            window_open: true,
            team_size: 2,
            solution_count: 2,
            microsoft_holds_open_place: false,
            contact_consented: true,
            registrable: false,
        }
    }

    #[test]
    fn offers_follow_the_transition_table() {
        for stage in Stage::ALL {
            let offers = available_actions(case(stage));
            if stage.is_terminal() {
                assert!(offers.is_empty(), "{stage}");
            }
        }
        assert_eq!(
            available_actions(case(Stage::Received)),
            vec![Offer::Accept, Offer::Decline]
        );
        let accepted = available_actions(case(Stage::Accepted));
        assert!(accepted.contains(&Offer::MarkWon) && accepted.contains(&Offer::InviteMicrosoft));
        assert!(!accepted.contains(&Offer::Accept));
    }

    #[test]
    fn a_won_deal_offers_registration_while_eligible() {
        let mut c = case(Stage::Won);
        assert!(available_actions(c).is_empty());
        c.registrable = true;
        assert_eq!(available_actions(c), vec![Offer::RegisterDeal]);
    }

    #[test]
    fn no_answer_after_the_window() {
        let mut c = case(Stage::Received);
        c.window_open = false;
        assert!(available_actions(c).is_empty());
    }

    #[test]
    fn the_last_team_member_and_solution_stay() {
        let mut c = case(Stage::Accepted);
        c.team_size = 1;
        c.solution_count = 1;
        let offers = available_actions(c);
        assert!(!offers.contains(&Offer::RemoveTeamMember));
        assert!(!offers.contains(&Offer::RemoveSolution));
        assert!(offers.contains(&Offer::AddTeamMember));
    }

    #[test]
    fn invite_offers_follow_the_invitation_table() {
        let mut c = case(Stage::Accepted);
        c.direction = Direction::Inbound;
        c.deal_type = DealType::CoSell;
        let offers = available_actions(c);
        assert!(
            !offers.contains(&Offer::InviteMicrosoft) && !offers.contains(&Offer::InvitePartner)
        );
        c.deal_type = DealType::PartnerToPartner;
        let offers = available_actions(c);
        assert!(
            offers.contains(&Offer::InviteMicrosoft) && !offers.contains(&Offer::InvitePartner)
        );
        c.contact_consented = false;
        assert!(!available_actions(c).contains(&Offer::InviteMicrosoft));
        let mut ms = case(Stage::Accepted);
        ms.viewer_kind = OrgKind::Microsoft;
        ms.deal_type = DealType::CoSell;
        let offers = available_actions(ms);
        assert!(
            !offers.contains(&Offer::InviteMicrosoft) && offers.contains(&Offer::InvitePartner)
        );
    }
}
