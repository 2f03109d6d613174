//! Opaque global ids (`base64url("Type:uuid")`) for the Relay `Node` interface.
use async_graphql::ID;
use uuid::Uuid;

use crate::domain::global_id;

/// The object types that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Organization,
    User,
    Tenant,
    Customer,
    Solution,
    Opportunity,
    Invitation,
    TeamMember,
    Registration,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::Organization,
        Kind::User,
        Kind::Tenant,
        Kind::Customer,
        Kind::Solution,
        Kind::Opportunity,
        Kind::Invitation,
        Kind::TeamMember,
        Kind::Registration,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Organization => "Organization",
            Kind::User => "User",
            Kind::Tenant => "Tenant",
            Kind::Customer => "Customer",
            Kind::Solution => "Solution",
            Kind::Opportunity => "Opportunity",
            Kind::Invitation => "Invitation",
            Kind::TeamMember => "TeamMember",
            Kind::Registration => "DealRegistration",
        }
    }
}

pub fn encode(kind: Kind, id: Uuid) -> ID {
    ID(global_id::encode(kind.name(), id))
}

/// The type and uuid behind a global id; `None` for anything that is not one of ours.
pub fn decode(id: &str) -> Option<(Kind, Uuid)> {
    let (name, uuid) = global_id::decode(id)?;
    let kind = Kind::ALL.into_iter().find(|k| k.name() == name)?;
    Some((kind, uuid))
}

/// The uuid of a global id of the expected kind; the nil uuid (which names nothing)
/// for anything else, so that a foreign or malformed id reads as "not found".
pub fn uuid_or_nil(id: &str, kind: Kind) -> Uuid {
    decode_as(id, kind).unwrap_or(Uuid::nil())
}

/// The uuid of a global id of the expected kind.
pub fn decode_as(id: &str, kind: Kind) -> Option<Uuid> {
    decode(id).filter(|(k, _)| *k == kind).map(|(_, u)| u)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn global_ids_round_trip_and_reject_strangers() {
        let u = Uuid::now_v7();
        let id = encode(Kind::Customer, u);
        assert_eq!(decode(&id), Some((Kind::Customer, u)));
        assert_eq!(decode_as(&id, Kind::Solution), None);
        assert_eq!(decode("not-an-id"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Customer:xyz")), None);
    }
}
