//! Who is acting: organizations' kinds, users' roles and the signed-in viewer.
use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The two kinds of organization on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgKind {
    Microsoft,
    Partner,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Microsoft => "MICROSOFT",
            OrgKind::Partner => "PARTNER",
        }
    }
}

impl FromStr for OrgKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "MICROSOFT" => Ok(OrgKind::Microsoft),
            "PARTNER" => Ok(OrgKind::Partner),
            other => Err(format!("unknown organization kind {other}")),
        }
    }
}

/// Partner Center's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Sees and manages every opportunity of its organization.
    ReferralAdmin,
    /// Sees and manages the opportunities whose team lists its email.
    ReferralUser,
    /// Manages the organization's account, with a referral admin's reach.
    AccountAdmin,
    /// A Microsoft user who reviews deal registrations.
    RegistrationReviewer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::ReferralAdmin,
        Role::ReferralUser,
        Role::AccountAdmin,
        Role::RegistrationReviewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReferralAdmin => "REFERRAL_ADMIN",
            Role::ReferralUser => "REFERRAL_USER",
            Role::AccountAdmin => "ACCOUNT_ADMIN",
            Role::RegistrationReviewer => "REGISTRATION_REVIEWER",
        }
    }

    /// Parses the comma-separated list kept in the database; unknown names are skipped
    /// so that a role added later never locks older binaries out.
    pub fn parse_list(s: &str) -> Vec<Role> {
        let mut roles: Vec<Role> = s.split(',').filter_map(|r| r.trim().parse().ok()).collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// The comma-separated form kept in the database.
    pub fn join(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s}"))
    }
}

/// The signed-in user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Uuid,
    pub email: String,
    pub organization_id: Uuid,
    pub organization_kind: OrgKind,
    pub tenant_id: Uuid,
    pub roles: Vec<Role>,
}

impl Viewer {
    /// Whether the viewer reaches every opportunity of its organization (a referral admin,
    /// or an account admin, who has a referral admin's reach).
    pub fn sees_whole_organization(&self) -> bool {
        self.roles
            .iter()
            .any(|r| matches!(r, Role::ReferralAdmin | Role::AccountAdmin))
    }

    pub fn is_microsoft(&self) -> bool {
        self.organization_kind == OrgKind::Microsoft
    }

    /// Whether the viewer is one of Microsoft's registration reviewers (the role means
    /// nothing in a partner's organization).
    pub fn reviews_registrations(&self) -> bool {
        self.is_microsoft() && self.roles.contains(&Role::RegistrationReviewer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_list_round_trips_and_skips_unknown_names() {
        let roles = Role::parse_list("REFERRAL_USER,BOGUS,REFERRAL_ADMIN,REFERRAL_USER");
        assert_eq!(roles, vec![Role::ReferralAdmin, Role::ReferralUser]);
        assert_eq!(Role::join(&roles), "REFERRAL_ADMIN,REFERRAL_USER");
    }

    #[test]
    fn account_admin_has_a_referral_admins_reach() {
        let mut v = Viewer {
            user_id: Uuid::nil(),
            email: "a@b.c".into(),
            organization_id: Uuid::nil(),
            organization_kind: OrgKind::Partner,
            tenant_id: Uuid::nil(),
            roles: vec![Role::ReferralUser],
        };
        assert!(!v.sees_whole_organization());
        v.roles = vec![Role::AccountAdmin];
        assert!(v.sees_whole_organization());
        v.roles = vec![Role::ReferralAdmin];
        assert!(v.sees_whole_organization());
    }
}
