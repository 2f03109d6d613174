//! The life cycle of an opportunity: stages, the actions on them, and the one transition
//! table every mutation and `availableActions` go through.
use std::fmt;

/// Where one organization's side of an engagement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// An invitation is waiting for this organization's answer.
    Received,
    /// The organization works the deal.
    Accepted,
    /// Closed, won.
    Won,
    /// Closed, lost (with a reason).
    Lost,
    /// The invitation was turned down (with a reason).
    Declined,
    /// Nobody answered in time.
    Expired,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Received,
        Stage::Accepted,
        Stage::Won,
        Stage::Lost,
        Stage::Declined,
        Stage::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Received => "RECEIVED",
            Stage::Accepted => "ACCEPTED",
            Stage::Won => "WON",
            Stage::Lost => "LOST",
            Stage::Declined => "DECLINED",
            Stage::Expired => "EXPIRED",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Terminal stages: nothing about the opportunity changes any more. The archive.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Stage::Won | Stage::Lost | Stage::Declined | Stage::Expired
        )
    }

    /// Whether the organization holds an open place in the engagement.
    pub fn is_open(self) -> bool {
        matches!(self, Stage::Received | Stage::Accepted)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The originator's side is outbound, every invitee's inbound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Outbound,
    Inbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "OUTBOUND",
            Direction::Inbound => "INBOUND",
        }
    }
    pub fn parse(s: &str) -> Option<Direction> {
        [Direction::Outbound, Direction::Inbound]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Who is in the engagement. It only ever moves up, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DealType {
    /// The originator alone.
    Private,
    /// Partners invited, Microsoft not.
    PartnerToPartner,
    /// Microsoft invited or originating.
    CoSell,
}

impl DealType {
    pub const ALL: [DealType; 3] = [
        DealType::Private,
        DealType::PartnerToPartner,
        DealType::CoSell,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DealType::Private => "PRIVATE",
            DealType::PartnerToPartner => "PARTNER_TO_PARTNER",
            DealType::CoSell => "CO_SELL",
        }
    }
    pub fn parse(s: &str) -> Option<DealType> {
        DealType::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The deal type after an event that calls for `wanted`: never lower than now.
    pub fn upgrade(self, wanted: DealType) -> DealType {
        self.max(wanted)
    }
}

/// Partner Center's codes for the help wanted from Microsoft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum HelpWanted {
    None,
    WorkloadValueProposition,
    TechnicalArchitecture,
    ProofOfConcept,
    PricingAndLicensing,
    PostSalesSuccess,
    Other,
}

impl HelpWanted {
    pub const ALL: [HelpWanted; 7] = [
        HelpWanted::None,
        HelpWanted::WorkloadValueProposition,
        HelpWanted::TechnicalArchitecture,
        HelpWanted::ProofOfConcept,
        HelpWanted::PricingAndLicensing,
        HelpWanted::PostSalesSuccess,
        HelpWanted::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            HelpWanted::None => "NONE",
            HelpWanted::WorkloadValueProposition => "WORKLOAD_VALUE_PROPOSITION",
            HelpWanted::TechnicalArchitecture => "TECHNICAL_ARCHITECTURE",
            HelpWanted::ProofOfConcept => "PROOF_OF_CONCEPT",
            HelpWanted::PricingAndLicensing => "PRICING_AND_LICENSING",
            HelpWanted::PostSalesSuccess => "POST_SALES_SUCCESS",
            HelpWanted::Other => "OTHER",
        }
    }
    pub fn parse(s: &str) -> Option<HelpWanted> {
        HelpWanted::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Why an invitation was declined, or a deal lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    BudgetNotAdequate,
    CustomerNotResponsive,
    ChoseAnotherVendor,
    RequirementNotMet,
    NotACustomer,
    TimelineTooShort,
    SpamOrAbuse,
    Other,
}

impl CloseReason {
    pub const ALL: [CloseReason; 8] = [
        CloseReason::BudgetNotAdequate,
        CloseReason::CustomerNotResponsive,
        CloseReason::ChoseAnotherVendor,
        CloseReason::RequirementNotMet,
        CloseReason::NotACustomer,
        CloseReason::TimelineTooShort,
        CloseReason::SpamOrAbuse,
        CloseReason::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::BudgetNotAdequate => "BUDGET_NOT_ADEQUATE",
            CloseReason::CustomerNotResponsive => "CUSTOMER_NOT_RESPONSIVE",
            CloseReason::ChoseAnotherVendor => "CHOSE_ANOTHER_VENDOR",
            CloseReason::RequirementNotMet => "REQUIREMENT_NOT_MET",
            CloseReason::NotACustomer => "NOT_A_CUSTOMER",
            CloseReason::TimelineTooShort => "TIMELINE_TOO_SHORT",
            CloseReason::SpamOrAbuse => "SPAM_OR_ABUSE",
            CloseReason::Other => "OTHER",
        }
    }
    pub fn parse(s: &str) -> Option<CloseReason> {
        CloseReason::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The status of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "PENDING",
            InvitationStatus::Accepted => "ACCEPTED",
            InvitationStatus::Declined => "DECLINED",
            InvitationStatus::Expired => "EXPIRED",
        }
    }
    pub fn parse(s: &str) -> Option<InvitationStatus> {
        [
            InvitationStatus::Pending,
            InvitationStatus::Accepted,
            InvitationStatus::Declined,
            InvitationStatus::Expired,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Everything that can be done to an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Accept,
    Decline,
    Expire,
    Update,
    AddTeamMember,
    UpdateTeamMember,
    RemoveTeamMember,
    AddSolution,
    RemoveSolution,
    MarkWon,
    MarkLost,
    /// Send an invitation from this opportunity.
    Invite,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::Accept,
        Action::Decline,
        Action::Expire,
        Action::Update,
        Action::AddTeamMember,
        Action::UpdateTeamMember,
        Action::RemoveTeamMember,
        Action::AddSolution,
        Action::RemoveSolution,
        Action::MarkWon,
        Action::MarkLost,
        Action::Invite,
    ];

    /// How a person names the action in a message.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Decline => "decline",
            Action::Expire => "expire",
            Action::Update => "update",
            Action::AddTeamMember => "add a team member to",
            Action::UpdateTeamMember => "change a team member of",
            Action::RemoveTeamMember => "remove a team member from",
            Action::AddSolution => "add a solution to",
            Action::RemoveSolution => "remove a solution from",
            Action::MarkWon => "mark won",
            Action::MarkLost => "mark lost",
            Action::Invite => "invite from",
        }
    }

    /// Actions only the invitee answers with; the rest belong to the owning side.
    pub fn answers_invitation(self) -> bool {
        matches!(self, Action::Accept | Action::Decline)
    }
}

/// The stage does not allow the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTransition {
    pub stage: Stage,
    pub action: Action,
}

impl fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} an opportunity in stage {}",
            self.action.verb(),
            self.stage
        )
    }
}

/// The transition table: the stage an action leads to from `stage`, or why it cannot.
pub fn transition(stage: Stage, action: Action) -> Result<Stage, InvalidTransition> {
    use Action as A;
    use Stage as S;
    match (stage, action) {
        (S::Received, A::Accept) => Ok(S::Accepted),
        (S::Received, A::Decline) => Ok(S::Declined),
        (S::Received, A::Expire) => Ok(S::Expired),
        (
            S::Accepted,
            A::Update
            | A::AddTeamMember
            | A::UpdateTeamMember
            | A::RemoveTeamMember
            | A::AddSolution
            | A::RemoveSolution
            | A::Invite,
        ) => Ok(S::Accepted),
        (S::Accepted, A::MarkWon) => Ok(S::Won),
        (S::Accepted, A::MarkLost) => Ok(S::Lost),
        _ => Err(InvalidTransition { stage, action }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell of the table, written out independently of `transition`.
    #[test]
    fn transition_table_covers_every_cell() {
        for stage in Stage::ALL {
            for action in Action::ALL {
                let expected = match (stage, action) {
                    (Stage::Received, Action::Accept) => Some(Stage::Accepted),
                    (Stage::Received, Action::Decline) => Some(Stage::Declined),
                    (Stage::Received, Action::Expire) => Some(Stage::Expired),
                    (Stage::Accepted, Action::MarkWon) => Some(Stage::Won),
                    (Stage::Accepted, Action::MarkLost) => Some(Stage::Lost),
                    (Stage::Accepted, Action::Accept | Action::Decline | Action::Expire) => None,
                    (Stage::Accepted, _) => Some(Stage::Accepted),
                    _ => None,
                };
                assert_eq!(
                    transition(stage, action).ok(),
                    expected,
                    "{stage} {action:?}"
                );
            }
        }
    }

    #[test]
    fn terminal_stages_allow_nothing() {
        for stage in Stage::ALL.into_iter().filter(|s| s.is_terminal()) {
            for action in Action::ALL {
                let err = transition(stage, action).unwrap_err();
                assert!(err.to_string().contains(stage.as_str()));
            }
        }
    }

    #[test]
    fn the_refusal_names_stage_and_action() {
        let e = transition(Stage::Won, Action::Update).unwrap_err();
        assert_eq!(e.to_string(), "cannot update an opportunity in stage WON");
    }

    #[test]
    fn deal_type_only_moves_up() {
        use DealType::*;
        for from in DealType::ALL {
            for to in DealType::ALL {
                assert!(from.upgrade(to) >= from);
                assert_eq!(from.upgrade(to), from.max(to));
            }
        }
        assert_eq!(CoSell.upgrade(Private), CoSell);
        assert_eq!(PartnerToPartner.upgrade(CoSell), CoSell);
    }

    #[test]
    fn codes_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        for h in HelpWanted::ALL {
            assert_eq!(HelpWanted::parse(h.as_str()), Some(h));
        }
        for r in CloseReason::ALL {
            assert_eq!(CloseReason::parse(r.as_str()), Some(r));
        }
        for d in DealType::ALL {
            assert_eq!(DealType::parse(d.as_str()), Some(d));
        }
    }
}
