//! Demo deals in every stage and every deal type, for every demo partner, written
//! through the same services the API uses (so the demo data obeys every rule).
use chrono::Duration;
use entity::{customers, organizations, solutions, users};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::deal::{CloseReason, HelpWanted};
use crate::domain::{OrgKind, Role, Viewer};
use crate::service::deal_input::{ContactIn, TeamMemberIn, TermsIn};
use crate::service::deals::{InviteIn, NewDeal, create_deal};
use crate::service::opportunities::{DetailsIn, accept, close, decline, set_favorite};
use crate::service::{Deps, expiry};

struct Org {
    model: organizations::Model,
    admin: users::Model,
    solution: Uuid,
    /// A co-sell-ready, registration-eligible solution, when it publishes one.
    eligible: Option<Uuid>,
}

async fn viewer(db: &DatabaseConnection, user: &users::Model) -> anyhow::Result<Viewer> {
    let org = organizations::Entity::find_by_id(user.organization_id)
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("organization missing"))?;
    Ok(Viewer {
        user_id: user.id,
        email: user.email.to_lowercase(),
        organization_id: org.id,
        organization_kind: org.kind.parse().unwrap_or(OrgKind::Partner),
        tenant_id: user.tenant_id,
        roles: Role::parse_list(&user.roles),
    })
}

fn member(u: &users::Model) -> TeamMemberIn {
    TeamMemberIn {
        name: u.name.clone(),
        phone: u.phone.clone().unwrap_or_else(|| "+1 425 555 0100".into()),
        email: u.email.clone(),
        notify: Some(true),
    }
}

async fn orgs(db: &DatabaseConnection) -> anyhow::Result<(Org, Vec<Org>)> {
    let mut ms = None;
    let mut partners = Vec::new();
    let all = organizations::Entity::find()
        .order_by_asc(organizations::Column::NameNorm)
        .all(db)
        .await?;
    for o in all {
        let admin = users::Entity::find()
            .filter(users::Column::OrganizationId.eq(o.id))
            .filter(users::Column::Roles.contains("REFERRAL_ADMIN"))
            .order_by_asc(users::Column::Email)
            .one(db)
            .await?;
        let solution = solutions::Entity::find()
            .filter(solutions::Column::PublisherId.eq(o.id))
            .filter(solutions::Column::CoSellReady.eq(true))
            .order_by_asc(solutions::Column::NameNorm)
            .one(db)
            .await?;
        let (Some(admin), Some(solution)) = (admin, solution) else {
            continue;
        };
        let eligible = solutions::Entity::find()
            .filter(solutions::Column::PublisherId.eq(o.id))
            .filter(solutions::Column::CoSellReady.eq(true))
            .filter(solutions::Column::RegistrationEligible.eq(true))
            .one(db)
            .await?
            .map(|s| s.id);
        let org = Org {
            model: o,
            admin,
            solution: solution.id,
            eligible,
        };
        if org.model.kind == "MICROSOFT" {
            ms = Some(org);
        } else if org.model.co_sell_ready {
            partners.push(org);
        }
    }
    let ms = ms.ok_or_else(|| anyhow::anyhow!("no Microsoft in the demo data"))?;
    Ok((ms, partners))
}

/// Writes the demo deals. Every demo partner gets, as originator: a private deal, a
/// partner-to-partner deal waiting for an answer, a co-sell deal accepted by Microsoft
/// and another partner, a won and a lost deal, a declined invitation and an expired
/// one; Microsoft originates one co-sell deal too.
pub async fn seed_deals(deps: &Deps) -> anyhow::Result<()> {
    let db = &deps.db;
    let (ms, partners) = orgs(db).await?;
    if partners.len() < 3 {
        return Ok(());
    }
    let cust: Vec<customers::Model> = customers::Entity::find()
        .order_by_asc(customers::Column::NameNorm)
        .all(db)
        .await?;
    let ms_viewer = viewer(db, &ms.admin).await?;
    let today = deps.clock.today();
    let n = partners.len();
    for (i, p) in partners.iter().enumerate() {
        let q = &partners[(i + 1) % n];
        let r = &partners[(i + 2) % n];
        let pv = viewer(db, &p.admin).await?;
        let qv = viewer(db, &q.admin).await?;
        let rv = viewer(db, &r.admin).await?;
        let short = p.model.name.split(' ').next().unwrap_or("Deal");
        let deal = |k: usize, name: &str| NewDeal {
            customer_id: Some(cust[(i * 7 + k) % cust.len()].id),
            deal_name: format!("{short}: {name}"),
            value: Some(format!("{}.00", 25_000 * (k + 1) + 1_000 * i)),
            currency: Some(if k.is_multiple_of(2) { "EUR" } else { "USD" }.into()),
            close_date: Some(today + Duration::days(30 + 10 * k as i64)),
            crm_id: Some(format!("CRM-{}-{k}", i + 1)),
            notes: Some(format!("Demo deal {k} of {}", p.model.name)),
            team: vec![member(&p.admin)],
            solution_ids: vec![p.solution],
            contact: Some(ContactIn {
                name: "Chris Customer".into(),
                phone: "+49 30 1234567".into(),
                email: "chris@customer.example".into(),
                consent: true,
            }),
            ..Default::default()
        };
        let invite = |org: &Org| InviteIn {
            organization_id: org.model.id,
            terms: TermsIn {
                notes: Some(format!("{} would help on delivery", org.model.name)),
                ..Default::default()
            },
        };

        let private = create_deal(deps, &pv, deal(0, "Private pilot")).await?;
        set_favorite(deps, &pv, private.id, true).await?;

        let mut p2p = deal(1, "Joint migration");
        p2p.invitations = vec![invite(q)];
        create_deal(deps, &pv, p2p).await?;

        let mut cosell = deal(2, "Copilot rollout");
        cosell.help_wanted = Some(HelpWanted::TechnicalArchitecture);
        let co = create_deal(deps, &pv, cosell).await?;
        let ms_side = inbound_of(db, co.engagement_id, ms.model.id).await?;
        accept(
            deps,
            &ms_viewer,
            ms_side,
            None,
            DetailsIn::default(),
            Some(vec![member(&ms.admin)]),
        )
        .await?;
        crate::service::deals::send_invitation(
            deps,
            &pv,
            crate::service::deals::SendInvitation {
                opportunity_id: co.id,
                organization_id: r.model.id,
                terms: TermsIn::default(),
                expected_version: None,
                idempotency_key: None,
            },
        )
        .await?;
        let r_side = inbound_of(db, co.engagement_id, r.model.id).await?;
        accept(
            deps,
            &rv,
            r_side,
            None,
            DetailsIn::default(),
            Some(vec![member(&r.admin)]),
        )
        .await?;

        let won = create_deal(deps, &pv, deal(3, "Data platform (won)")).await?;
        close(deps, &pv, won.id, None, None, Some("Signed".into())).await?;
        let lost = create_deal(deps, &pv, deal(4, "Security review (lost)")).await?;
        close(
            deps,
            &pv,
            lost.id,
            None,
            Some(CloseReason::ChoseAnotherVendor),
            None,
        )
        .await?;

        let mut declined = deal(5, "Analytics (declined)");
        declined.invitations = vec![invite(q)];
        let d = create_deal(deps, &pv, declined).await?;
        let q_side = inbound_of(db, d.engagement_id, q.model.id).await?;
        decline(
            deps,
            &qv,
            q_side,
            None,
            CloseReason::TimelineTooShort,
            Some("Not this quarter".into()),
        )
        .await?;

        // Sent 15 days ago: the 14-day window has passed, and the sweep expires it.
        let past = Deps {
            clock: deps.clock.clone(),
            ..deps.clone()
        };
        past.clock.advance(Duration::days(-15));
        let mut expired = deal(6, "Field service (expired)");
        expired.close_date = Some(today + Duration::days(60));
        expired.invitations = vec![invite(r)];
        let res = create_deal(&past, &pv, expired).await;
        past.clock.advance(Duration::days(15));
        res?;
    }
    let contoso = &partners[0];
    let mut ms_deal = NewDeal {
        customer_id: Some(cust[3 % cust.len()].id),
        deal_name: "Microsoft: Azure landing zone".into(),
        value: Some("480000.00".into()),
        currency: Some("USD".into()),
        close_date: Some(today + Duration::days(75)),
        team: vec![member(&ms.admin)],
        solution_ids: vec![ms.solution],
        ..Default::default()
    };
    ms_deal.invitations = vec![InviteIn {
        organization_id: contoso.model.id,
        terms: TermsIn::default(),
    }];
    create_deal(deps, &ms_viewer, ms_deal).await?;
    expiry::expire_due(deps).await?;
    registrations(deps, &partners, &cust).await?;
    Ok(())
}

/// One review step of the demo: the action, its text, and whether the reviewer takes it.
type Step = (
    crate::domain::registration::ReviewAction,
    Option<&'static str>,
    bool,
);

/// Won deals with registrations in every state, for each partner with an eligible
/// solution, reviewed by Microsoft's reviewer.
async fn registrations(
    deps: &Deps,
    partners: &[Org],
    cust: &[customers::Model],
) -> anyhow::Result<()> {
    use crate::domain::registration::ReviewAction as A;
    use crate::service::registrations::{NewRegistration, register, step};
    let db = &deps.db;
    let Some(reviewer) = users::Entity::find()
        .filter(users::Column::Roles.contains("REGISTRATION_REVIEWER"))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let rv = viewer(db, &reviewer).await?;
    let today = deps.clock.today();
    for (i, p) in partners.iter().enumerate() {
        let Some(sol) = p.eligible else { continue };
        let pv = viewer(db, &p.admin).await?;
        let short = p.model.name.split(' ').next().unwrap_or("Deal");
        let flows: [(&str, &[Step]); 5] = [
            ("submitted", &[]),
            (
                "info requested",
                &[(
                    A::RequestInfo,
                    Some("Which purchase order covers this?"),
                    true,
                )],
            ),
            ("approved", &[(A::Approve, None, true)]),
            (
                "rejected",
                &[(
                    A::Reject,
                    Some("The purchase predates the engagement."),
                    true,
                )],
            ),
            ("withdrawn", &[(A::Withdraw, None, false)]),
        ];
        for (k, (label, steps)) in flows.iter().enumerate() {
            let won = create_deal(
                deps,
                &pv,
                NewDeal {
                    customer_id: Some(cust[(i * 5 + k + 2) % cust.len()].id),
                    deal_name: format!("{short}: registered deal ({label})"),
                    value: Some("64000.00".into()),
                    currency: Some("EUR".into()),
                    team: vec![member(&p.admin)],
                    solution_ids: vec![sol],
                    ..Default::default()
                },
            )
            .await?;
            close(deps, &pv, won.id, None, None, None).await?;
            let reg = register(
                deps,
                &pv,
                NewRegistration {
                    opportunity: won.id,
                    solution_ids: vec![sol],
                    purchase_date: Some(today),
                    value: "64000.00".into(),
                    currency: "EUR".into(),
                    ..Default::default()
                },
            )
            .await?;
            for (action, text, by_reviewer) in steps.iter() {
                let who = if *by_reviewer { &rv } else { &pv };
                step(deps, who, reg.id, *action, text.map(str::to_owned), None).await?;
            }
        }
    }
    Ok(())
}

async fn inbound_of(db: &DatabaseConnection, engagement: Uuid, org: Uuid) -> anyhow::Result<Uuid> {
    crate::store::deals::opportunities_of_engagements(db, &[engagement])
        .await?
        .into_iter()
        .rev()
        .find(|o| o.organization_id == org)
        .map(|o| o.id)
        .ok_or_else(|| anyhow::anyhow!("no inbound opportunity"))
}
