//! Account administration (SPEC §2): account admins add, deactivate and set roles of
//! their organization's users and link and unlink tenants; the organization always keeps
//! an active account admin; every user edits its own settings.
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, error_code};

const ANNA: &str = "anna@contoso.example";

async fn ids(app: &TestApp, email: &str) -> (Value, Value) {
    let v = app
        .gql_as(email, "{ viewer { user { id } tenant { id } } }", json!({}))
        .await;
    (
        v["viewer"]["user"]["id"].clone(),
        v["viewer"]["tenant"]["id"].clone(),
    )
}

async fn payload(app: &TestApp, email: &str, mutation: &str, input: Value) -> Value {
    let v = app
        .gql_as(
            email,
            &format!(
                "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ {} userErrors {{ code message field }} }} }}",
                upper(mutation),
                if mutation.contains("enant") { "tenant { id tenantId linked }" } else { "user { id email roles active notificationsEnabled locale }" }
            ),
            json!({ "i": input }),
        )
        .await;
    v[mutation].clone()
}

fn upper(s: &str) -> String {
    let special = match s {
        "deactivateUser" | "reactivateUser" => return "UserId".into(),
        other => other,
    };
    let mut c = special.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn code(p: &Value) -> &str {
    p["userErrors"][0]["code"].as_str().unwrap_or("<none>")
}

db_test!(
    an_account_admin_adds_a_user_who_can_sign_in,
    |app| async move {
        let (_, tenant) = ids(&app, ANNA).await;
        let p = payload(
            &app,
            ANNA,
            "addUser",
            json!({
        "name": "Nina New", "email": "Nina.New@contoso.example", "phone": "+49 30 5550000",
        "roles": ["REFERRAL_USER"], "tenantId": tenant }),
        )
        .await;
        assert_eq!(p["userErrors"], json!([]), "{p}");
        assert_eq!(p["user"]["email"], "nina.new@contoso.example");
        let v = app
            .gql_as(
                "nina.new@contoso.example",
                "{ viewer { organization { name } roles } }",
                json!({}),
            )
            .await;
        assert_eq!(v["viewer"]["organization"]["name"], "Contoso Consulting");
        assert_eq!(v["viewer"]["roles"], json!(["REFERRAL_USER"]));
    }
);

db_test!(only_account_admins_manage_accounts, |app| async move {
    let (_, tenant) = ids(&app, ANNA).await;
    let before = app.snapshot().await;
    let p = payload(&app, "uwe@contoso.example", "addUser", json!({
        "name": "X", "email": "x@contoso.example", "roles": ["REFERRAL_USER"], "tenantId": tenant })).await;
    assert_eq!(code(&p), "FORBIDDEN");
    // Another organization's tenant is not found, like a missing one.
    let p = payload(&app, "frank@fabrikam.example", "addUser", json!({
        "name": "X", "email": "x@fabrikam.example", "roles": ["REFERRAL_USER"], "tenantId": tenant })).await;
    assert_eq!(code(&p), "NOT_FOUND");
    // Another organization's user likewise.
    let (uwe, _) = ids(&app, "uwe@contoso.example").await;
    let p = payload(
        &app,
        "frank@fabrikam.example",
        "deactivateUser",
        json!({ "userId": uwe }),
    )
    .await;
    assert_eq!(code(&p), "NOT_FOUND");
    assert_eq!(app.snapshot().await, before);
});

db_test!(adding_a_user_checks_every_field, |app| async move {
    let (_, tenant) = ids(&app, ANNA).await;
    let before = app.snapshot().await;
    for (input, field) in [
        (
            json!({ "name": " ", "email": "a@contoso.example", "roles": ["REFERRAL_USER"], "tenantId": tenant }),
            "name",
        ),
        (
            json!({ "name": "A", "email": "not-an-email", "roles": ["REFERRAL_USER"], "tenantId": tenant }),
            "email",
        ),
        (
            json!({ "name": "A", "email": "UWE@contoso.example", "roles": ["REFERRAL_USER"], "tenantId": tenant }),
            "email",
        ),
        (
            json!({ "name": "A", "email": "a@contoso.example", "phone": "0301234", "roles": ["REFERRAL_USER"], "tenantId": tenant }),
            "phone",
        ),
        (
            json!({ "name": "A", "email": "a@contoso.example", "roles": [], "tenantId": tenant }),
            "roles",
        ),
        (
            json!({ "name": "A", "email": "a@contoso.example", "roles": ["REGISTRATION_REVIEWER"], "tenantId": tenant }),
            "roles",
        ),
    ] {
        let p = payload(&app, ANNA, "addUser", input).await;
        assert_eq!(code(&p), "BAD_USER_INPUT", "{p}");
        assert_eq!(p["userErrors"][0]["field"], json!(["input", field]), "{p}");
    }
    assert_eq!(app.snapshot().await, before);
});

db_test!(
    a_deactivated_users_tokens_stop_working_at_once,
    |app| async move {
        let token = app.token("uwe@contoso.example").await;
        let (uwe, _) = ids(&app, "uwe@contoso.example").await;
        let p = payload(&app, ANNA, "deactivateUser", json!({ "userId": uwe })).await;
        assert_eq!(p["user"]["active"], false, "{p}");
        let v = app
            .gql(Some(&token), "{ viewer { user { id } } }", json!({}))
            .await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED");
        let p = payload(&app, ANNA, "reactivateUser", json!({ "userId": uwe })).await;
        assert_eq!(p["user"]["active"], true);
        let v = app
            .gql(Some(&token), "{ viewer { user { id } } }", json!({}))
            .await;
        assert!(v.get("errors").is_none(), "{v}");
    }
);

/// The ids on a token's first page of a tab, or the error code it got.
async fn tab(app: &TestApp, token: &str, view: &str) -> Result<Vec<String>, String> {
    let v = app
        .gql(
            Some(token),
            "query($v: OpportunityView!) { opportunities(view: $v, first: 100) { totalCount nodes { id } } }",
            json!({ "v": view }),
        )
        .await;
    if v.get("errors").is_some() {
        return Err(error_code(&v).to_owned());
    }
    let ids: Vec<String> = v["data"]["opportunities"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(
        v["data"]["opportunities"]["totalCount"],
        json!(ids.len()),
        "{v}"
    );
    Ok(ids)
}

// A list may start beside the sign-in with whom the token signed in as last time; the
// sign-in is still checked in full, and the list answers for the viewer it gives.
db_test!(
    a_list_answers_for_the_roles_the_user_has_now,
    |app| async move {
        let token = app.token("uwe@contoso.example").await;
        let anna = app.token(ANNA).await;
        let (uwe, _) = ids(&app, "uwe@contoso.example").await;
        for view in ["INBOUND", "OUTBOUND", "ARCHIVED"] {
            let whole = tab(&app, &anna, view).await.expect("anna's tab");
            // Twice as a referral user: the second starts on the first's sign-in.
            let own = tab(&app, &token, view).await.expect("uwe's tab");
            assert_eq!(tab(&app, &token, view).await.expect("again"), own);
            if view == "INBOUND" {
                assert!(own.len() < whole.len(), "uwe sees {own:?} of {whole:?}");
            }
            // Made a referral admin, then a referral user again: the same token's list
            // follows the roles of the moment.
            for (role, sees) in [("REFERRAL_ADMIN", &whole), ("REFERRAL_USER", &own)] {
                let p = payload(
                    &app,
                    ANNA,
                    "setUserRoles",
                    json!({ "userId": uwe, "roles": [role] }),
                )
                .await;
                assert_eq!(p["userErrors"], json!([]), "{p}");
                assert_eq!(
                    &tab(&app, &token, view).await.expect(role),
                    sees,
                    "{view} as {role}"
                );
            }
        }
    }
);

db_test!(
    a_deactivated_users_list_is_refused_at_once,
    |app| async move {
        let token = app.token("uwe@contoso.example").await;
        let (uwe, _) = ids(&app, "uwe@contoso.example").await;
        assert!(tab(&app, &token, "INBOUND").await.is_ok());
        let p = payload(&app, ANNA, "deactivateUser", json!({ "userId": uwe })).await;
        assert_eq!(p["user"]["active"], false, "{p}");
        assert_eq!(
            tab(&app, &token, "INBOUND").await,
            Err("UNAUTHENTICATED".to_owned())
        );
        // Bad input from a token that no longer signs in is still UNAUTHENTICATED.
        let v = app
            .gql(
                Some(&token),
                "{ opportunities(view: INBOUND, first: 1000) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED", "{v}");
    }
);

db_test!(
    the_organization_always_keeps_an_active_account_admin,
    |app| async move {
        let (anna, _) = ids(&app, ANNA).await;
        let before = app.snapshot().await;
        let p = payload(&app, ANNA, "deactivateUser", json!({ "userId": anna })).await;
        assert_eq!(code(&p), "BAD_USER_INPUT", "{p}");
        let p = payload(
            &app,
            ANNA,
            "setUserRoles",
            json!({ "userId": anna, "roles": ["REFERRAL_ADMIN"] }),
        )
        .await;
        assert_eq!(code(&p), "BAD_USER_INPUT", "{p}");
        assert_eq!(app.snapshot().await, before);
        // With a second account admin, Anna may step down.
        let (uwe, _) = ids(&app, "uwe@contoso.example").await;
        let p = payload(
            &app,
            ANNA,
            "setUserRoles",
            json!({ "userId": uwe, "roles": ["ACCOUNT_ADMIN", "REFERRAL_USER"] }),
        )
        .await;
        assert_eq!(p["userErrors"], json!([]), "{p}");
        let p = payload(
            &app,
            ANNA,
            "setUserRoles",
            json!({ "userId": anna, "roles": ["REFERRAL_ADMIN"] }),
        )
        .await;
        assert_eq!(p["userErrors"], json!([]), "{p}");
        assert_eq!(p["user"]["roles"], json!(["REFERRAL_ADMIN"]));
    }
);

db_test!(
    tenants_are_linked_and_unlinked_by_self_service,
    |app| async move {
        let new_tenant = uuid::Uuid::new_v4().to_string();
        let p = payload(
            &app,
            ANNA,
            "linkTenant",
            json!({ "tenantId": new_tenant, "name": "Contoso APAC" }),
        )
        .await;
        assert_eq!(p["userErrors"], json!([]), "{p}");
        assert_eq!(p["tenant"]["linked"], true);
        // A tenant belongs to at most one organization.
        let p = payload(
            &app,
            "frank@fabrikam.example",
            "linkTenant",
            json!({ "tenantId": new_tenant, "name": "Mine" }),
        )
        .await;
        assert_eq!(code(&p), "BAD_USER_INPUT", "{p}");
        // Unlinking Lisa's tenant: she can no longer sign in through it.
        let lisa_token = app.token("lisa@contoso.example").await;
        let (_, lisa_tenant) = ids(&app, "lisa@contoso.example").await;
        let p = payload(
            &app,
            ANNA,
            "unlinkTenant",
            json!({ "tenantId": lisa_tenant }),
        )
        .await;
        assert_eq!(p["tenant"]["linked"], false, "{p}");
        let v = app
            .gql(Some(&lisa_token), "{ viewer { user { id } } }", json!({}))
            .await;
        assert_eq!(error_code(&v), "UNAUTHENTICATED");
        // Unlinking the tenant the last account admin signs in through is refused.
        let (_, anna_tenant) = ids(&app, ANNA).await;
        let before = app.snapshot().await;
        let p = payload(
            &app,
            ANNA,
            "unlinkTenant",
            json!({ "tenantId": anna_tenant }),
        )
        .await;
        assert_eq!(code(&p), "BAD_USER_INPUT", "{p}");
        assert_eq!(app.snapshot().await, before);
        // Once unlinked, another organization may link it.
        let p = payload(&app, "frank@fabrikam.example", "linkTenant", json!({ "tenantId": lisa_tenant_uuid(&app, "lisa@contoso.example").await, "name": "Now Fabrikam's" })).await;
        assert_eq!(p["userErrors"], json!([]), "{p}");
    }
);

async fn lisa_tenant_uuid(app: &TestApp, email: &str) -> String {
    let user = cosell::store::directory::user_by_email(&app.db, email)
        .await
        .expect("db")
        .expect("user");
    user.tenant_id.to_string()
}

db_test!(every_user_edits_its_own_settings, |app| async move {
    let p = payload(
        &app,
        "uwe@contoso.example",
        "updateMySettings",
        json!({ "notificationsEnabled": false, "locale": "de-DE" }),
    )
    .await;
    assert_eq!(p["userErrors"], json!([]), "{p}");
    assert_eq!(p["user"]["notificationsEnabled"], false);
    assert_eq!(p["user"]["locale"], "de-DE");
    let p = payload(
        &app,
        "uwe@contoso.example",
        "updateMySettings",
        json!({ "locale": "not a locale!" }),
    )
    .await;
    assert_eq!(code(&p), "BAD_USER_INPUT");
    assert_eq!(p["userErrors"][0]["field"], json!(["input", "locale"]));
});

db_test!(
    an_organizations_users_are_listed_to_its_admins_only,
    |app| async move {
        let q = "{ viewer { organization { users { email } } } }";
        let admin = app.gql_as(ANNA, q, json!({})).await;
        assert!(
            admin["viewer"]["organization"]["users"]
                .as_array()
                .is_some_and(|u| u.len() >= 3)
        );
        let user = app.gql_as("uwe@contoso.example", q, json!({})).await;
        assert_eq!(user["viewer"]["organization"]["users"], json!([]));
    }
);
