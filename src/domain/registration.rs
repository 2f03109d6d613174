//! Deal registration after a win (SPEC §5): who may register, and the review's life cycle.
use std::fmt;

use chrono::{DateTime, Duration, Utc};

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationStatus {
    Submitted,
    InfoRequested,
    Approved,
    Rejected,
    Withdrawn,
}

impl RegistrationStatus {
    pub const ALL: [RegistrationStatus; 5] = [
        RegistrationStatus::Submitted,
        RegistrationStatus::InfoRequested,
        RegistrationStatus::Approved,
        RegistrationStatus::Rejected,
        RegistrationStatus::Withdrawn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::Submitted => "SUBMITTED",
            RegistrationStatus::InfoRequested => "INFO_REQUESTED",
            RegistrationStatus::Approved => "APPROVED",
            RegistrationStatus::Rejected => "REJECTED",
            RegistrationStatus::Withdrawn => "WITHDRAWN",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Still under review: the opportunity cannot be registered again meanwhile.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::InfoRequested)
    }
}

impl fmt::Display for RegistrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step of the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    /// A reviewer asks the partner a question.
    RequestInfo,
    /// The partner answers it.
    Answer,
    Approve,
    Reject,
    /// The partner takes it back before a decision.
    Withdraw,
}

impl ReviewAction {
    pub fn verb(self) -> &'static str {
        match self {
            ReviewAction::RequestInfo => "request information on",
            ReviewAction::Answer => "answer",
            ReviewAction::Approve => "approve",
            ReviewAction::Reject => "reject",
            ReviewAction::Withdraw => "withdraw",
        }
    }
    /// Whether a Microsoft reviewer (not the registering partner) takes this step.
    pub fn by_reviewer(self) -> bool {
        matches!(self, Self::RequestInfo | Self::Approve | Self::Reject)
    }
}

/// The status does not allow the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidStep {
    pub status: RegistrationStatus,
    pub action: ReviewAction,
}

impl fmt::Display for InvalidStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} a registration in status {}",
            self.action.verb(),
            self.status
        )
    }
}

/// The review's transition table. Decided and withdrawn registrations are immutable.
pub fn review(
    status: RegistrationStatus,
    action: ReviewAction,
) -> Result<RegistrationStatus, InvalidStep> {
    use RegistrationStatus as S;
    use ReviewAction as A;
    match (status, action) {
        (S::Submitted, A::RequestInfo) => Ok(S::InfoRequested),
        (S::InfoRequested, A::Answer) => Ok(S::Submitted),
        (S::Submitted, A::Approve) => Ok(S::Approved),
        (S::Submitted, A::Reject) => Ok(S::Rejected),
        (S::Submitted | S::InfoRequested, A::Withdraw) => Ok(S::Withdrawn),
        _ => Err(InvalidStep { status, action }),
    }
}

/// Why an opportunity can or cannot be registered now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    Eligible,
    NotWon,
    NoEligibleSolution,
    PeriodOver,
    UnderReview,
    AlreadyApproved,
    NotAPartner,
}

impl Eligibility {
    pub fn is_eligible(&self) -> bool {
        *self == Eligibility::Eligible
    }
    pub fn reason(&self) -> &'static str {
        match self {
            Eligibility::Eligible => "the deal can be registered",
            Eligibility::NotWon => "only won deals can be registered",
            Eligibility::NoEligibleSolution => {
                "none of the deal's solutions is registration eligible"
            }
            Eligibility::PeriodOver => "the registration period after the win is over",
            Eligibility::UnderReview => "a registration of this deal is under review",
            Eligibility::AlreadyApproved => "the deal's registration was approved",
            Eligibility::NotAPartner => "Microsoft's own deals are not registered",
        }
    }
}

/// Whether a deal can be registered now.
pub fn eligibility(
    partner: bool,
    won_at: Option<DateTime<Utc>>,
    has_eligible_solution: bool,
    latest: Option<RegistrationStatus>,
    now: DateTime<Utc>,
    period: Duration,
) -> Eligibility {
    if !partner {
        return Eligibility::NotAPartner;
    }
    let Some(won) = won_at else {
        return Eligibility::NotWon;
    };
    if !has_eligible_solution {
        return Eligibility::NoEligibleSolution;
    }
    match latest {
        Some(s) if s.is_open() => return Eligibility::UnderReview,
        Some(RegistrationStatus::Approved) => return Eligibility::AlreadyApproved,
        _ => {}
    }
    if now > won + period {
        return Eligibility::PeriodOver;
    }
    Eligibility::Eligible
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegistrationStatus as S;
    use ReviewAction as A;

    #[test]
    fn the_review_table() {
        let all = [
            A::RequestInfo,
            A::Answer,
            A::Approve,
            A::Reject,
            A::Withdraw,
        ];
        for s in S::ALL {
            for a in all {
                let expected = match (s, a) {
                    (S::Submitted, A::RequestInfo) => Some(S::InfoRequested),
                    (S::InfoRequested, A::Answer) => Some(S::Submitted),
                    (S::Submitted, A::Approve) => Some(S::Approved),
                    (S::Submitted, A::Reject) => Some(S::Rejected),
                    (S::Submitted, A::Withdraw) | (S::InfoRequested, A::Withdraw) => {
                        Some(S::Withdrawn)
                    }
                    _ => None,
                };
                assert_eq!(review(s, a).ok(), expected, "{s} {a:?}");
            }
        }
        assert!(
            review(S::Approved, A::Withdraw)
                .unwrap_err()
                .to_string()
                .contains("APPROVED")
        );
    }

    #[test]
    fn eligibility_rules() {
        let now = Utc::now();
        let p = Duration::days(90);
        let won = Some(now - Duration::days(1));
        assert_eq!(
            eligibility(true, won, true, None, now, p),
            Eligibility::Eligible
        );
        assert_eq!(
            eligibility(false, won, true, None, now, p),
            Eligibility::NotAPartner
        );
        assert_eq!(
            eligibility(true, None, true, None, now, p),
            Eligibility::NotWon
        );
        assert_eq!(
            eligibility(true, won, false, None, now, p),
            Eligibility::NoEligibleSolution
        );
        assert_eq!(
            eligibility(true, won, true, Some(S::Submitted), now, p),
            Eligibility::UnderReview
        );
        assert_eq!(
            eligibility(true, won, true, Some(S::Approved), now, p),
            Eligibility::AlreadyApproved
        );
        assert_eq!(
            eligibility(true, won, true, Some(S::Rejected), now, p),
            Eligibility::Eligible
        );
        assert_eq!(
            eligibility(true, Some(now - Duration::days(91)), true, None, now, p),
            Eligibility::PeriodOver
        );
    }
}
