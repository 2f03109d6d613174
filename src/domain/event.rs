//! The kinds of events in the log, and who may see each.

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    DealCreated,
    DealUpdated,
    DealUpgraded,
    InvitationSent,
    InvitationAccepted,
    InvitationDeclined,
    InvitationExpiringSoon,
    InvitationExpired,
    DealWon,
    DealLost,
    TeamChanged,
    SolutionsChanged,
    RegistrationSubmitted,
    RegistrationInfoRequested,
    RegistrationAnswered,
    RegistrationApproved,
    RegistrationRejected,
    RegistrationWithdrawn,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::DealCreated,
        EventKind::DealUpdated,
        EventKind::DealUpgraded,
        EventKind::InvitationSent,
        EventKind::InvitationAccepted,
        EventKind::InvitationDeclined,
        EventKind::InvitationExpiringSoon,
        EventKind::InvitationExpired,
        EventKind::DealWon,
        EventKind::DealLost,
        EventKind::TeamChanged,
        EventKind::SolutionsChanged,
        EventKind::RegistrationSubmitted,
        EventKind::RegistrationInfoRequested,
        EventKind::RegistrationAnswered,
        EventKind::RegistrationApproved,
        EventKind::RegistrationRejected,
        EventKind::RegistrationWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DealCreated => "DEAL_CREATED",
            EventKind::DealUpdated => "DEAL_UPDATED",
            EventKind::DealUpgraded => "DEAL_UPGRADED",
            EventKind::InvitationSent => "INVITATION_SENT",
            EventKind::InvitationAccepted => "INVITATION_ACCEPTED",
            EventKind::InvitationDeclined => "INVITATION_DECLINED",
            EventKind::InvitationExpiringSoon => "INVITATION_EXPIRING_SOON",
            EventKind::InvitationExpired => "INVITATION_EXPIRED",
            EventKind::DealWon => "DEAL_WON",
            EventKind::DealLost => "DEAL_LOST",
            EventKind::TeamChanged => "TEAM_CHANGED",
            EventKind::SolutionsChanged => "SOLUTIONS_CHANGED",
            EventKind::RegistrationSubmitted => "REGISTRATION_SUBMITTED",
            EventKind::RegistrationInfoRequested => "REGISTRATION_INFO_REQUESTED",
            EventKind::RegistrationAnswered => "REGISTRATION_ANSWERED",
            EventKind::RegistrationApproved => "REGISTRATION_APPROVED",
            EventKind::RegistrationRejected => "REGISTRATION_REJECTED",
            EventKind::RegistrationWithdrawn => "REGISTRATION_WITHDRAWN",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A step of a deal registration's review.
    pub fn is_registration(self) -> bool {
        self.audience() == Audience::Registration
    }

    /// Who sees an event: the owning organization alone for its private details (deal
    /// created, fields updated, solutions), the two sides for an invitation's events,
    /// every participant for what participants see of each other (stage, team, deal
    /// type), and for a registration's steps the registering partner, Microsoft if it
    /// is a participant, and Microsoft's reviewers.
    pub fn audience(self) -> Audience {
        match self {
            EventKind::DealCreated | EventKind::DealUpdated | EventKind::SolutionsChanged => {
                Audience::Owner
            }
            EventKind::InvitationSent
            | EventKind::InvitationAccepted
            | EventKind::InvitationDeclined
            | EventKind::InvitationExpiringSoon
            | EventKind::InvitationExpired => Audience::InvitationSides,
            EventKind::RegistrationSubmitted
            | EventKind::RegistrationInfoRequested
            | EventKind::RegistrationAnswered
            | EventKind::RegistrationApproved
            | EventKind::RegistrationRejected
            | EventKind::RegistrationWithdrawn => Audience::Registration,
            EventKind::DealUpgraded
            | EventKind::DealWon
            | EventKind::DealLost
            | EventKind::TeamChanged => Audience::Participants,
        }
    }
}

/// The organizations an event is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The organization whose opportunity it is.
    Owner,
    /// The inviting and the invited organization.
    InvitationSides,
    /// Every organization with an opportunity in the engagement.
    Participants,
    /// The registering partner and Microsoft if it has an opportunity in the engagement
    /// (Microsoft sees nothing of an engagement it was not invited to); beyond these
    /// organizations, Microsoft's registration reviewers, who review every registration
    /// ([`crate::domain::access::sees_event`]).
    Registration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_details_stay_with_the_owner() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::DealUpdated.audience(), Audience::Owner);
        assert_eq!(EventKind::SolutionsChanged.audience(), Audience::Owner);
        assert_eq!(EventKind::TeamChanged.audience(), Audience::Participants);
        assert_eq!(
            EventKind::InvitationDeclined.audience(),
            Audience::InvitationSides
        );
    }

    #[test]
    fn registration_steps_are_the_registration_kinds() {
        let steps: Vec<EventKind> = EventKind::ALL
            .into_iter()
            .filter(|k| k.is_registration())
            .collect();
        assert_eq!(steps.len(), 6);
        assert!(
            steps
                .iter()
                .all(|k| k.as_str().starts_with("REGISTRATION_"))
        );
        assert!(!EventKind::DealWon.is_registration());
    }
}
