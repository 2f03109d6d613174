//! Demo data for a newcomer: Microsoft, partners with admins and users (one with two
//! tenants), solutions of every kind, and customers, including look-alike names in one
//! city. Written only into an empty database.
use chrono::Utc;
use entity::{organizations, solutions, tenants, users};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait, QueryOrder,
};
use uuid::Uuid;

use crate::db::begin_write;
use crate::domain::text::normalize;
use crate::store;

struct OrgSeed {
    name: &'static str,
    kind: &'static str,
    partner_id: Option<&'static str>,
    ready: bool,
    country: &'static str,
    domain: &'static str,
    tenants: &'static [&'static str],
    /// (name, email local part, roles, tenant index)
    users: &'static [(&'static str, &'static str, &'static str, usize)],
    /// (name, co-sell ready, registration eligible)
    solutions: &'static [(&'static str, bool, bool)],
}

const ORGS: &[OrgSeed] = &[
    OrgSeed {
        name: "Microsoft",
        kind: "MICROSOFT",
        partner_id: None,
        ready: true,
        country: "US",
        domain: "microsoft.example",
        tenants: &["Microsoft"],
        users: &[
            ("Maria Seller", "maria", "REFERRAL_ADMIN,ACCOUNT_ADMIN", 0),
            ("Sam Seller", "sam", "REFERRAL_USER", 0),
            (
                "Rita Reviewer",
                "rita",
                "REFERRAL_USER,REGISTRATION_REVIEWER",
                0,
            ),
        ],
        solutions: &[
            ("Azure OpenAI Service", true, true),
            ("Microsoft 365 E5", true, true),
            ("Dynamics 365 Sales", true, false),
        ],
    },
    OrgSeed {
        name: "Contoso Consulting",
        kind: "PARTNER",
        partner_id: Some("4711001"),
        ready: true,
        country: "DE",
        domain: "contoso.example",
        // Contoso bought a US firm and kept its directory: two tenants, one organization.
        tenants: &["Contoso EU", "Contoso US (formerly Litware)"],
        users: &[
            ("Anna Admin", "anna", "REFERRAL_ADMIN,ACCOUNT_ADMIN", 0),
            ("Uwe User", "uwe", "REFERRAL_USER", 0),
            ("Lisa Litware", "lisa", "REFERRAL_USER", 1),
        ],
        solutions: &[
            ("Contoso Data Platform", true, true),
            ("Contoso Copilot Accelerator", true, false),
            ("Contoso Legacy Migrator", false, false),
        ],
    },
    OrgSeed {
        name: "Fabrikam Solutions",
        kind: "PARTNER",
        partner_id: Some("4711002"),
        ready: true,
        country: "US",
        domain: "fabrikam.example",
        tenants: &["Fabrikam"],
        users: &[
            ("Frank Admin", "frank", "REFERRAL_ADMIN,ACCOUNT_ADMIN", 0),
            ("Fiona User", "fiona", "REFERRAL_USER", 0),
        ],
        solutions: &[
            ("Fabrikam Security Suite", true, true),
            ("Fabrikam Identity Guard", true, false),
        ],
    },
    OrgSeed {
        name: "Northwind Traders",
        kind: "PARTNER",
        partner_id: Some("4711003"),
        ready: true,
        country: "FR",
        domain: "northwind.example",
        tenants: &["Northwind"],
        users: &[
            ("Nadia Admin", "nadia", "REFERRAL_ADMIN,ACCOUNT_ADMIN", 0),
            ("Noah User", "noah", "REFERRAL_USER", 0),
        ],
        solutions: &[("Northwind Supply Chain Insights", true, false)],
    },
    OrgSeed {
        name: "Adventure Works Cloud",
        kind: "PARTNER",
        partner_id: Some("4711004"),
        ready: true,
        country: "GB",
        domain: "adventure-works.example",
        tenants: &["Adventure Works"],
        users: &[
            ("Alex Admin", "alex", "REFERRAL_ADMIN,ACCOUNT_ADMIN", 0),
            ("Amy User", "amy", "REFERRAL_USER", 0),
        ],
        solutions: &[("Adventure Works Field Service", true, true)],
    },
    OrgSeed {
        name: "Tailspin Toys Digital",
        kind: "PARTNER",
        partner_id: Some("4711005"),
        // Not co-sell ready: never found by the partner picker.
        ready: false,
        country: "US",
        domain: "tailspin.example",
        tenants: &["Tailspin"],
        users: &[("Tom Admin", "tom", "REFERRAL_ADMIN,ACCOUNT_ADMIN", 0)],
        solutions: &[("Tailspin Retail Analytics", false, false)],
    },
];

/// Named customers: several look-alike entities in Berlin, and accented names.
/// (name, line 1, city, postal code, country, D-U-N-S, website)
type CustomerSeed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const CUSTOMERS: &[CustomerSeed] = &[
    (
        "Müller GmbH",
        "Friedrichstraße 10",
        "Berlin",
        "10117",
        "DE",
        Some("313456789"),
        Some("https://mueller.example"),
    ),
    (
        "Müller Holding GmbH",
        "Unter den Linden 5",
        "Berlin",
        "10117",
        "DE",
        Some("313456790"),
        None,
    ),
    (
        "Mueller GmbH & Co. KG",
        "Alexanderplatz 1",
        "Berlin",
        "10178",
        "DE",
        Some("313456791"),
        None,
    ),
    (
        "Müller Logistik GmbH",
        "Am Ostbahnhof 3",
        "Berlin",
        "10243",
        "DE",
        None,
        None,
    ),
    (
        "Müller GmbH",
        "Königsallee 20",
        "Düsseldorf",
        "40212",
        "DE",
        Some("313456792"),
        None,
    ),
    (
        "Société Générale Services",
        "29 Boulevard Haussmann",
        "Paris",
        "75009",
        "FR",
        Some("275123456"),
        None,
    ),
    (
        "Crédit Agricole Solutions",
        "12 Place des États-Unis",
        "Montrouge",
        "92120",
        "FR",
        None,
        None,
    ),
    (
        "Contoso Pharmaceuticals",
        "1 Contoso Way",
        "Seattle",
        "98101",
        "US",
        Some("081466849"),
        Some("https://pharma.contoso.example"),
    ),
    (
        "Wide World Importers",
        "500 Harbor Blvd",
        "San Francisco",
        "94105",
        "US",
        None,
        None,
    ),
    (
        "Woodgrove Bank",
        "1 Canary Wharf",
        "London",
        "E14 5AB",
        "GB",
        Some("219876543"),
        None,
    ),
    (
        "Åkesson & Søn A/S",
        "Strøget 8",
        "København",
        "1160",
        "DK",
        None,
        None,
    ),
];

const NAME_PARTS: [&str; 12] = [
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Datum",
    "Fourth Coffee",
    "Graphic Design",
    "Humongous",
    "Lamna",
    "Margie's",
    "Proseware",
    "Trey Research",
    "VanArsdel",
];
const NAME_SUFFIXES: [&str; 5] = ["Ltd", "Inc", "GmbH", "SARL", "Holdings"];
const PLACES: [(&str, &str); 8] = [
    ("Berlin", "DE"),
    ("München", "DE"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("London", "GB"),
    ("Seattle", "US"),
    ("New York", "US"),
    ("Zürich", "CH"),
];

/// Writes the demo data when the database has no organization yet. Returns whether it
/// wrote anything.
pub async fn seed_if_empty(
    db: &DatabaseConnection,
    generated_customers: u32,
) -> anyhow::Result<bool> {
    let txn = begin_write(db).await?;
    if organizations::Entity::find().count(&txn).await? > 0 {
        return Ok(false);
    }
    let now = Utc::now();
    for org in ORGS {
        let org_id = Uuid::now_v7();
        organizations::Model {
            id: org_id,
            name: org.name.into(),
            name_norm: normalize(org.name),
            kind: org.kind.into(),
            partner_id: org.partner_id.map(Into::into),
            co_sell_ready: org.ready,
            country: Some(org.country.into()),
            created_at: now,
        }
        .into_active_model()
        .insert(&txn)
        .await?;
        let mut tenant_ids = Vec::new();
        for name in org.tenants {
            let id = Uuid::now_v7();
            tenants::Model {
                id,
                organization_id: org_id,
                name: (*name).into(),
                linked: true,
                created_at: now,
            }
            .into_active_model()
            .insert(&txn)
            .await?;
            tenant_ids.push(id);
        }
        for (name, local, roles, tenant) in org.users {
            users::Model {
                id: Uuid::now_v7(),
                organization_id: org_id,
                tenant_id: tenant_ids[*tenant],
                name: (*name).into(),
                email: format!("{local}@{}", org.domain),
                phone: Some(demo_phone(&format!("{local}@{}", org.domain))),
                roles: (*roles).into(),
                locale: None,
                notifications_enabled: true,
                active: true,
                created_at: now,
            }
            .into_active_model()
            .insert(&txn)
            .await?;
        }
        for (name, ready, eligible) in org.solutions {
            solutions::Model {
                id: Uuid::now_v7(),
                name: (*name).into(),
                name_norm: normalize(name),
                publisher_id: org_id,
                co_sell_ready: *ready,
                registration_eligible: *eligible,
                created_at: now,
            }
            .into_active_model()
            .insert(&txn)
            .await?;
        }
    }
    for (name, line1, city, postal, country, duns, website) in CUSTOMERS {
        store::customers::insert(
            &txn,
            customer(name, line1, city, postal, country, *duns, *website),
        )
        .await?;
    }
    for i in 0..generated_customers as usize {
        let part = NAME_PARTS[i % NAME_PARTS.len()];
        let suffix = NAME_SUFFIXES[(i / NAME_PARTS.len()) % NAME_SUFFIXES.len()];
        let (city, country) = PLACES[(i * 7 + i / 3) % PLACES.len()];
        let name = format!("{part} {suffix}");
        let line1 = format!("{} Market Street", 10 + i);
        let duns = format!("{:09}", 500_000_000 + i * 7919);
        store::customers::insert(
            &txn,
            customer(&name, &line1, city, "00000", country, Some(&duns), None),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// A stable, valid-looking phone number for a demo email.
pub fn demo_phone(email: &str) -> String {
    let n = email
        .bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("+1 425 555 {:04}", n % 10_000)
}

fn customer(
    name: &str,
    line1: &str,
    city: &str,
    postal: &str,
    country: &str,
    duns: Option<&str>,
    website: Option<&str>,
) -> entity::customers::Model {
    entity::customers::Model {
        id: Uuid::now_v7(),
        name: name.into(),
        name_norm: normalize(name),
        address_line1: line1.into(),
        address_line2: None,
        city: city.into(),
        city_norm: normalize(city),
        region: None,
        postal_code: Some(postal.into()),
        country: country.into(),
        duns: duns.map(Into::into),
        website: website.map(Into::into),
        created_by_organization_id: None,
        created_at: Utc::now(),
    }
}

/// Every active user with its organization's name, for the start-up banner.
pub async fn demo_users(db: &DatabaseConnection) -> anyhow::Result<Vec<(users::Model, String)>> {
    let orgs = organizations::Entity::find().all(db).await?;
    let users = users::Entity::find()
        .order_by_asc(users::Column::OrganizationId)
        .order_by_asc(users::Column::Email)
        .all(db)
        .await?;
    Ok(users
        .into_iter()
        .filter(|u| u.active)
        .map(|u| {
            let org = orgs
                .iter()
                .find(|o| o.id == u.organization_id)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            (u, org)
        })
        .collect())
}
