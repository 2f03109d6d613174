//! Email (SPEC §8): who gets what, both parts, retries, failures, crashes.
//!
//! Every test here starts its own server pointed at an in-process SMTP sink (or at no
//! SMTP at all), so each builds its app with [`spawn`] and runs on both databases via
//! [`on_both_databases!`]. The demo seed queues emails of its own at start: the tests
//! always look only at the emails about their own deals (a unique word in the deal name).
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use cosell::config::Config;
use cosell::email::worker::TlsMode;
use entity::{email_outbox, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, error_code};
use crate::smtp_sink::{Answer, Received, SmtpSink};

const ANNA: &str = "anna@contoso.example";
const UWE: &str = "uwe@contoso.example";
const FRANK: &str = "frank@fabrikam.example";
const FIONA: &str = "fiona@fabrikam.example";
const NADIA: &str = "nadia@northwind.example";
const ALEX: &str = "alex@adventure-works.example";
/// Team members who are nobody's users.
const OTTO: &str = "otto@outside-partner.example";
const QUINN: &str = "quinn@contoso.example";
const FELIX: &str = "felix@fabrikam.example";

const CONTOSO: &str = "Contoso Consulting";
const FABRIKAM: &str = "Fabrikam Solutions";
const NORTHWIND: &str = "Northwind Traders";
const ADVENTURE: &str = "Adventure Works Cloud";
const CUSTOMER: &str = "Woodgrove Bank";

const FRONTEND: &str = "https://app.cosell.test";
const MAIL_FROM: &str = "cosell <no-reply@cosell.localhost>";
const MAIL_DOMAIN: &str = "cosell.localhost";

/// How long a test waits for something the worker does.
const PATIENCE: Duration = Duration::from_secs(15);

/// `name::sqlite` and `name::postgres`, each running `body(backend)`, guarded: a failing
/// test's databases and folders are dropped too.
macro_rules! on_both_databases {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::helpers::guarded(Box::pin($body(crate::helpers::Backend::Sqlite))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::helpers::guarded(Box::pin($body(crate::helpers::Backend::Postgres))).await;
            }
        }
    };
}

on_both_databases!(
    every_email_reaches_the_right_people_with_both_parts,
    super::every_email_reaches_the_right_people_with_both_parts
);
on_both_databases!(
    an_expiry_email_is_queued_as_facts_and_delivered_as_the_templates_say,
    super::an_expiry_email_is_queued_as_facts_and_delivered_as_the_templates_say
);
on_both_databases!(
    a_muted_user_gets_nothing_whatever_case_the_team_lists_the_address_in,
    super::a_muted_user_gets_nothing_whatever_case_the_team_lists_the_address_in
);
on_both_databases!(
    refused_emails_are_retried_with_backoff_then_failed_and_shown_to_admins,
    super::refused_emails_are_retried_with_backoff_then_failed_and_shown_to_admins
);
on_both_databases!(
    a_crashed_worker_loses_no_email,
    super::a_crashed_worker_loses_no_email
);
on_both_databases!(
    without_smtp_emails_are_written_as_eml_files,
    super::without_smtp_emails_are_written_as_eml_files
);
on_both_databases!(
    two_workers_at_once_deliver_each_email_once,
    super::two_workers_at_once_deliver_each_email_once
);
on_both_databases!(
    shutdown_finishes_the_deliveries_in_flight,
    super::shutdown_finishes_the_deliveries_in_flight
);

// ---------------------------------------------------------------------------------
// The app, its SMTP sink, and cleaning up.
// ---------------------------------------------------------------------------------

/// A fresh app whose worker delivers to `sink` (or writes `.eml` files without one),
/// with links to [`FRONTEND`]; `tweak` adjusts the configuration last.
async fn spawn(
    backend: Backend,
    sink: Option<&SmtpSink>,
    tweak: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let port = sink.map(|s| s.port);
    TestApp::spawn_with(backend, |c| {
        c.frontend_url = FRONTEND.to_owned();
        c.mail_from = MAIL_FROM.to_owned();
        c.smtp_host = port.map(|_| "127.0.0.1".to_owned());
        c.smtp_port = port;
        c.smtp_tls = TlsMode::None;
        c.smtp_username = None;
        c.smtp_password = None;
        tweak(c);
    })
    .await
}

/// Polls `probe` until it answers, for at most [`PATIENCE`].
async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    crate::helpers::eventually(what, PATIENCE, probe).await
}

// ---------------------------------------------------------------------------------
// Deals through the API.
// ---------------------------------------------------------------------------------

struct Fx {
    customer: String,
    solution: String,
    fabrikam: String,
    northwind: String,
    adventure: String,
}

async fn partner(app: &TestApp, search: &str) -> String {
    let v = app
        .gql_as(
            ANNA,
            "query($s: String) { partners(search: $s) { nodes { id } } }",
            json!({ "s": search }),
        )
        .await;
    v["partners"]["nodes"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no partner {search}: {v}"))
        .to_owned()
}

async fn fixtures(app: &TestApp) -> Fx {
    let v = app
        .gql_as(
            ANNA,
            "{ customers(search: \"woodgrove\") { nodes { id name } }
               solutions(kind: OWN, coSellReady: true, first: 10) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(v["customers"]["nodes"][0]["name"], CUSTOMER, "{v}");
    Fx {
        customer: v["customers"]["nodes"][0]["id"]
            .as_str()
            .expect("customer")
            .to_owned(),
        solution: v["solutions"]["nodes"][0]["id"]
            .as_str()
            .expect("a co-sell-ready solution")
            .to_owned(),
        fabrikam: partner(app, "fabrikam").await,
        northwind: partner(app, "northwind").await,
        adventure: partner(app, "adventure works").await,
    }
}

/// A deal name with a word no other deal has; [`tag`] is that word.
fn unique(base: &str) -> String {
    let word: String = Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(10)
        .map(|c| char::from(b'j' + c.to_digit(16).expect("hex") as u8))
        .collect();
    format!("{base} Zq{word}")
}

fn tag(name: &str) -> &str {
    name.rsplit(' ').next().expect("a word")
}

fn member(name: &str, email: &str, notify: bool) -> Value {
    json!({ "name": name, "phone": "+49 30 1234567", "email": email, "notify": notify })
}

/// Runs a mutation that returns an opportunity; panics on user errors.
async fn mutate(
    app: &TestApp,
    email: &str,
    mutation: &str,
    input_type: &str,
    input: Value,
) -> String {
    let v = app
        .gql_as(
            email,
            &format!(
                "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{
                   opportunity {{ id }} userErrors {{ code message field }} }} }}"
            ),
            json!({ "input": input }),
        )
        .await;
    let p = &v[mutation];
    assert_eq!(p["userErrors"], json!([]), "{mutation} as {email}: {p}");
    p["opportunity"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{mutation} as {email}: {p}"))
        .to_owned()
}

/// Anna creates the deal `name` with `team`, inviting `invitees`; returns Contoso's
/// opportunity id.
async fn create_deal(
    app: &TestApp,
    fx: &Fx,
    name: &str,
    team: Vec<Value>,
    invitees: &[&str],
) -> String {
    let invitations: Vec<Value> = invitees
        .iter()
        .map(|org| json!({ "organizationId": org, "terms": { "notes": "Let us win this together" } }))
        .collect();
    mutate(
        app,
        ANNA,
        "createDeal",
        "CreateDealInput",
        json!({
            "customerId": fx.customer,
            "dealName": name,
            "team": team,
            "solutionIds": [fx.solution],
            "invitations": invitations,
        }),
    )
    .await
}

/// The id of the opportunity `admin`'s organization received for the deal `name`.
async fn received(app: &TestApp, admin: &str, name: &str) -> String {
    let v = app
        .gql_as(
            admin,
            "query($f: OpportunityFilter) { opportunities(view: INBOUND, filter: $f, first: 10) {
               nodes { id stage } } }",
            json!({ "f": { "search": tag(name) } }),
        )
        .await;
    let nodes = v["opportunities"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "{admin} received {name}: {v}");
    assert_eq!(nodes[0]["stage"], "RECEIVED", "{v}");
    nodes[0]["id"].as_str().expect("id").to_owned()
}

/// Turns a user's email notifications off, straight in the database.
async fn mute(app: &TestApp, email: &str) {
    let r = users::Entity::update_many()
        .col_expr(users::Column::NotificationsEnabled, Expr::value(false))
        .filter(users::Column::Email.eq(email))
        .exec(&app.db)
        .await
        .expect("mute");
    assert_eq!(r.rows_affected, 1, "no user {email}");
}

// ---------------------------------------------------------------------------------
// Outbox rows and received messages.
// ---------------------------------------------------------------------------------

/// The outbox rows about the deal with this tag (every subject names the deal); the
/// rows queued as facts (the sweeps') with the subject and bodies the worker renders
/// for them at delivery.
async fn rows(app: &TestApp, tag: &str) -> Vec<email_outbox::Model> {
    let mut all = email_outbox::Entity::find()
        .all(&app.db)
        .await
        .expect("outbox");
    rendered(app, &mut all).await;
    all.into_iter()
        .filter(|r| r.subject.contains(tag))
        .collect()
}

async fn row(app: &TestApp, id: Uuid) -> email_outbox::Model {
    let mut one = vec![
        email_outbox::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .expect("outbox")
            .expect("the row"),
    ];
    rendered(app, &mut one).await;
    one.remove(0)
}

/// Fills in the text of the rows queued as facts, as the worker does at delivery.
async fn rendered(app: &TestApp, rows: &mut [email_outbox::Model]) {
    let broken = cosell::email::deferred::render_rows(&app.db, FRONTEND, rows)
        .await
        .expect("render");
    assert!(
        broken.is_empty(),
        "rows that cannot be rendered: {broken:?}"
    );
}

fn message_id(row: &email_outbox::Model) -> String {
    format!("<outbox-{}@{MAIL_DOMAIN}>", row.id)
}

/// A message as a mail client sees it: headers, and the decoded MIME parts.
#[derive(Debug, Clone)]
struct Mail {
    /// The envelope recipients (or the `To` header of an `.eml` file).
    to: Vec<String>,
    /// The envelope sender (`None` for an `.eml` file).
    sender: Option<String>,
    headers: Vec<(String, String)>,
    /// (content type, decoded body) of every leaf part.
    parts: Vec<(String, String)>,
    raw: String,
}

impl Mail {
    fn parse(raw: &str, to: Vec<String>) -> Mail {
        let text = raw.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let headers = parse_headers(head);
        let mut parts = Vec::new();
        collect_parts(&headers, body, &mut parts);
        Mail {
            to,
            sender: None,
            headers,
            parts,
            raw: raw.to_owned(),
        }
    }

    fn from_sink(m: &Received) -> Mail {
        Mail {
            sender: Some(m.from.clone()),
            ..Mail::parse(&m.data, m.to.clone())
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn message_id(&self) -> String {
        self.header("Message-ID").unwrap_or("<none>").to_owned()
    }

    fn part(&self, mime: &str) -> &str {
        self.parts
            .iter()
            .find(|(ct, _)| ct.to_lowercase().starts_with(mime))
            .map(|(_, b)| b.as_str())
            .unwrap_or_else(|| panic!("no {mime} part in:\n{}", self.raw))
    }

    /// Whether the message is about the deal with this tag.
    fn mentions(&self, tag: &str) -> bool {
        self.header("Subject").is_some_and(|s| s.contains(tag))
            || self.parts.iter().any(|(_, b)| b.contains(tag))
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn collect_parts(headers: &[(String, String)], body: &str, out: &mut Vec<(String, String)>) {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let content_type = get("Content-Type").unwrap_or_else(|| "text/plain".to_owned());
    if content_type.to_lowercase().starts_with("multipart/") {
        let boundary = param(&content_type, "boundary").expect("a boundary");
        let delimiter = format!("--{boundary}");
        for chunk in body.split(&delimiter).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix('\n').unwrap_or(chunk);
            let (head, inner) = chunk.split_once("\n\n").unwrap_or((chunk, ""));
            collect_parts(&parse_headers(head), inner, out);
        }
        return;
    }
    let encoding = get("Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_lowercase();
    let decoded = match encoding.as_str() {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 part");
            String::from_utf8(bytes).expect("UTF-8 part")
        }
        _ => body.to_owned(),
    };
    out.push((content_type, decoded));
}

fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 part")
}

/// Every message the sink holds with this Message-ID.
fn with_id(sink: &SmtpSink, id: &str) -> Vec<Mail> {
    sink.messages()
        .iter()
        .map(Mail::from_sink)
        .filter(|m| m.message_id() == id)
        .collect()
}

/// Waits until every outbox row about `tag` is SENT and its message reached the sink,
/// then checks each arrived exactly once and nothing else about `tag` did; returns the
/// rows with their messages.
async fn delivered(app: &TestApp, sink: &SmtpSink, tag: &str) -> Vec<(email_outbox::Model, Mail)> {
    let rows = eventually(&format!("the emails about {tag}"), async || {
        let rows = rows(app, tag).await;
        let ids: BTreeSet<String> = sink
            .messages()
            .iter()
            .filter_map(|m| m.header("Message-ID"))
            .collect();
        let done = !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.status == "SENT" && ids.contains(&message_id(r)));
        done.then_some(rows)
    })
    .await;
    let wanted: BTreeSet<String> = rows.iter().map(message_id).collect();
    let stray: Vec<String> = sink
        .messages()
        .iter()
        .filter(|m| {
            m.decoded().contains(tag)
                && !m
                    .header("Message-ID")
                    .is_some_and(|id| wanted.contains(&id))
        })
        .map(|m| format!("{:?} {:?}", m.to, m.header("Subject")))
        .collect();
    assert!(
        stray.is_empty(),
        "messages about {tag} without an outbox row: {stray:?}"
    );
    rows.into_iter()
        .map(|r| {
            let mut copies = with_id(sink, &message_id(&r));
            assert_eq!(
                copies.len(),
                1,
                "{} {} arrived {} times",
                r.kind,
                r.recipient_email,
                copies.len()
            );
            (r, copies.remove(0))
        })
        .collect()
}

/// One email someone should get: (kind, recipient, the other party named, the
/// opportunity linked).
type Expected<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Checks that exactly the `expected` emails about the deal `name` were delivered (one
/// each), every one well formed; returns them.
async fn expect_emails(
    app: &TestApp,
    sink: &SmtpSink,
    name: &str,
    expected: &[Expected<'_>],
) -> Vec<(email_outbox::Model, Mail)> {
    let got = delivered(app, sink, tag(name)).await;
    let mut have: Vec<(String, String)> = got
        .iter()
        .map(|(r, _)| (r.kind.clone(), r.recipient_email.to_lowercase()))
        .collect();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, to, _, _)| ((*k).to_owned(), to.to_lowercase()))
        .collect();
    have.sort();
    want.sort();
    assert_eq!(have, want, "who was emailed about {name}");
    for (kind, to, other, opportunity) in expected {
        let (r, mail) = got
            .iter()
            .find(|(r, _)| r.kind == *kind && r.recipient_email.eq_ignore_ascii_case(to))
            .expect("found above");
        check_mail(r, mail, to, name, other, opportunity);
    }
    got
}

/// The front end's page of an opportunity (its global id).
fn link(opportunity: &str) -> String {
    format!("{FRONTEND}/opportunities/{opportunity}")
}

/// One message: to its recipient only, with the row's Message-ID, a text and an HTML
/// part that both name the deal, customer and other party and link to the recipient's
/// opportunity.
fn check_mail(
    row: &email_outbox::Model,
    mail: &Mail,
    to: &str,
    deal: &str,
    other: &str,
    opportunity: &str,
) {
    let what = format!("{} to {to}", row.kind);
    if let Some(sender) = &mail.sender {
        assert_eq!(
            sender, "no-reply@cosell.localhost",
            "{what}: envelope sender"
        );
    }
    assert!(
        mail.header("From")
            .is_some_and(|f| f.contains("no-reply@cosell.localhost")),
        "{what}: From {:?}",
        mail.header("From")
    );
    assert_eq!(mail.to, vec![to.to_owned()], "{what}: envelope");
    assert!(
        mail.header("To")
            .is_some_and(|t| t.to_lowercase().contains(to)),
        "{what}: To {:?}",
        mail.header("To")
    );
    let id = mail.message_id();
    assert_eq!(id, message_id(row), "{what}: Message-ID");
    let inner = id
        .strip_prefix("<outbox-")
        .and_then(|s| s.strip_suffix(&format!("@{MAIL_DOMAIN}>")))
        .unwrap_or_else(|| panic!("{what}: Message-ID {id}"));
    assert!(Uuid::parse_str(inner).is_ok(), "{what}: Message-ID {id}");
    assert!(
        mail.header("Content-Type")
            .is_some_and(|c| c.to_lowercase().starts_with("multipart/alternative")),
        "{what}: Content-Type {:?}",
        mail.header("Content-Type")
    );
    assert_eq!(mail.parts.len(), 2, "{what}: parts {:?}", mail.parts);
    let subject = mail.header("Subject").unwrap_or_default();
    assert!(
        subject.contains(deal),
        "{what}: subject {subject:?} names {deal:?}"
    );
    assert_eq!(subject, row.subject, "{what}: subject");
    let url = link(opportunity);
    for (mime, body) in [
        ("text/plain", mail.part("text/plain")),
        ("text/html", mail.part("text/html")),
    ] {
        for needle in [deal, CUSTOMER, other, url.as_str()] {
            assert!(
                body.contains(needle),
                "{what}: {mime} part names {needle:?}:\n{body}"
            );
        }
    }
    let html = mail.part("text/html");
    assert!(
        html.contains(&format!("href=\"{url}\"")),
        "{what}: a link in the HTML:\n{html}"
    );
}

// ---------------------------------------------------------------------------------
// 1. Who gets what.
// ---------------------------------------------------------------------------------

async fn every_email_reaches_the_right_people_with_both_parts(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, Some(&sink), |_| {}).await else {
        return;
    };
    let fx = fixtures(&app).await;
    // Uwe is on the inviting teams but turned notifications off; Quinn asked for none.
    mute(&app, UWE).await;
    let team = || {
        vec![
            member("Anna Admin", ANNA, true),
            member("Uwe User", UWE, true),
            member("Quinn Quiet", QUINN, false),
            member("Otto Outside", OTTO, true),
        ]
    };

    // Sent, then accepted: Fabrikam's only referral admin is Frank (Fiona is a
    // referral user).
    let accepted = unique("Accept Email");
    let mine = create_deal(&app, &fx, &accepted, team(), &[&fx.fabrikam]).await;
    let theirs = received(&app, FRANK, &accepted).await;
    let sent = [
        ("INVITATION_RECEIVED", FRANK, CONTOSO, theirs.as_str()),
        ("INVITATION_SENT", ANNA, FABRIKAM, mine.as_str()),
    ];
    expect_emails(&app, &sink, &accepted, &sent).await;
    mutate(
        &app,
        FRANK,
        "acceptInvitation",
        "AcceptInvitationInput",
        json!({
            "opportunityId": theirs,
            "team": [member("Frank Admin", FRANK, true), member("Felix Field", FELIX, true)],
        }),
    )
    .await;
    let mut expected = sent.to_vec();
    expected.extend([
        ("INVITATION_ACCEPTED", ANNA, FABRIKAM, mine.as_str()),
        ("INVITATION_ACCEPTED", OTTO, FABRIKAM, mine.as_str()),
        ("ACCEPTED_CONFIRMATION", FRANK, CONTOSO, theirs.as_str()),
    ]);
    let got = expect_emails(&app, &sink, &accepted, &expected).await;
    // The inviter's team learns whom to call on the invitee's side.
    for (r, mail) in got.iter().filter(|(r, _)| r.kind == "INVITATION_ACCEPTED") {
        for part in ["text/plain", "text/html"] {
            let body = mail.part(part);
            assert!(
                body.contains("Felix Field") && body.contains(FELIX),
                "{} to {}: {part} lists the invitee's team:\n{body}",
                r.kind,
                r.recipient_email
            );
        }
    }

    // Sent, then declined with a reason and notes.
    let declined = unique("Decline Email");
    let mine = create_deal(&app, &fx, &declined, team(), &[&fx.northwind]).await;
    let theirs = received(&app, NADIA, &declined).await;
    mutate(
        &app,
        NADIA,
        "declineInvitation",
        "DeclineInvitationInput",
        json!({ "opportunityId": theirs, "reason": "BUDGET_NOT_ADEQUATE", "notes": "Budget frozen until Q3" }),
    )
    .await;
    let got = expect_emails(
        &app,
        &sink,
        &declined,
        &[
            ("INVITATION_RECEIVED", NADIA, CONTOSO, &theirs),
            ("INVITATION_SENT", ANNA, NORTHWIND, &mine),
            ("INVITATION_DECLINED", ANNA, NORTHWIND, &mine),
            ("INVITATION_DECLINED", OTTO, NORTHWIND, &mine),
            ("DECLINED_CONFIRMATION", NADIA, CONTOSO, &theirs),
        ],
    )
    .await;
    for (r, mail) in got.iter().filter(|(r, _)| r.kind == "INVITATION_DECLINED") {
        for part in ["text/plain", "text/html"] {
            let body = mail.part(part);
            assert!(
                body.to_lowercase().contains("budget") && body.contains("Budget frozen until Q3"),
                "{} to {}: {part} gives the reason and notes:\n{body}",
                r.kind,
                r.recipient_email
            );
        }
    }

    // Left unanswered: a reminder two days before the 14-day window ends, then expired.
    let expiring = unique("Expiry Email");
    let mine = create_deal(&app, &fx, &expiring, team(), &[&fx.fabrikam]).await;
    let theirs = received(&app, FRANK, &expiring).await;
    let mut expected = vec![
        ("INVITATION_RECEIVED", FRANK, CONTOSO, theirs.as_str()),
        ("INVITATION_SENT", ANNA, FABRIKAM, mine.as_str()),
    ];
    expect_emails(&app, &sink, &expiring, &expected).await;
    let remind = async || {
        cosell::service::expiry::remind_due(&app.server.services.deps())
            .await
            .expect("reminders")
    };
    // A day in, the window's end is far: no reminder yet.
    app.advance_clock(chrono::Duration::days(1));
    remind().await;
    expect_emails(&app, &sink, &expiring, &expected).await;
    app.advance_clock(chrono::Duration::days(11));
    assert!(remind().await >= 1, "the invitation was due for a reminder");
    expected.push(("INVITATION_EXPIRING_SOON", FRANK, CONTOSO, theirs.as_str()));
    expect_emails(&app, &sink, &expiring, &expected).await;
    // Reminded once: a later sweep sends no second reminder.
    app.advance_clock(chrono::Duration::hours(12));
    remind().await;
    expect_emails(&app, &sink, &expiring, &expected).await;
    app.advance_clock(chrono::Duration::hours(60));
    assert!(app.expire_now().await >= 1, "the invitation expired");
    expected.extend([
        ("INVITATION_EXPIRED", ANNA, FABRIKAM, mine.as_str()),
        ("INVITATION_EXPIRED", OTTO, FABRIKAM, mine.as_str()),
        ("INVITATION_EXPIRED", FRANK, CONTOSO, theirs.as_str()),
    ]);
    expect_emails(&app, &sink, &expiring, &expected).await;

    // Nobody else heard of these deals: not the referral user, not the muted user, not
    // the team member who asked for no email.
    for nobody in [FIONA, UWE, QUINN] {
        let about: Vec<String> = sink
            .to(nobody)
            .iter()
            .map(Mail::from_sink)
            .filter(|m| {
                [&accepted, &declined, &expiring]
                    .iter()
                    .any(|n| m.mentions(tag(n)))
            })
            .map(|m| m.header("Subject").unwrap_or_default().to_owned())
            .collect();
        assert!(about.is_empty(), "{nobody} got {about:?}");
    }
    // Every message the server ever sent has its own Message-ID.
    let all: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| Mail::from_sink(m).message_id())
        .collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "Message-IDs are unique: {all:?}");
    app.finish().await;
}

/// The sweeps queue their emails as facts (recipient, side, invitation; no text), and
/// the worker renders them at delivery: what arrives is exactly what the templates say
/// for the facts of the invitation, for each side — subject, plain text and HTML — with
/// the row's Message-ID; the reminder likewise.
async fn an_expiry_email_is_queued_as_facts_and_delivered_as_the_templates_say(backend: Backend) {
    use cosell::email::templates::{Facts, MailKind, render};
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, Some(&sink), |_| {}).await else {
        return;
    };
    let fx = fixtures(&app).await;
    let name = unique("Deferred Email");
    let team = vec![
        member("Anna Admin", ANNA, true),
        member("Otto <Outside> & Co", OTTO, true),
    ];
    let mine = create_deal(&app, &fx, &name, team, &[&fx.fabrikam]).await;
    let theirs = received(&app, FRANK, &name).await;
    app.advance_clock(chrono::Duration::days(12));
    cosell::service::expiry::remind_due(&app.server.services.deps())
        .await
        .expect("reminders");
    app.advance_clock(chrono::Duration::days(3));
    assert!(app.expire_now().await >= 1, "the invitation expired");

    // In the database: the recipient, its side and the invitation; no text.
    let frank_name = users::Entity::find()
        .filter(users::Column::Email.eq(FRANK))
        .one(&app.db)
        .await
        .expect("users")
        .expect("Frank")
        .name;
    let queued: Vec<email_outbox::Model> = email_outbox::Entity::find()
        .filter(email_outbox::Column::InvitationId.is_not_null())
        .all(&app.db)
        .await
        .expect("outbox");
    let invitation = queued
        .iter()
        .find(|r| r.recipient_email == OTTO)
        .and_then(|r| r.invitation_id)
        .expect("Otto's expiry email refers to the invitation");
    let mine_ids: Vec<&email_outbox::Model> = queued
        .iter()
        .filter(|r| r.invitation_id == Some(invitation))
        .collect();
    assert_eq!(
        mine_ids.len(),
        4,
        "1 reminder + 3 expiry emails: {mine_ids:?}"
    );
    for r in &mine_ids {
        assert!(
            r.subject.is_empty() && r.body_text.is_empty() && r.body_html.is_empty(),
            "queued as facts, not text: {r:?}"
        );
    }
    let inv = entity::invitations::Entity::find_by_id(invitation)
        .one(&app.db)
        .await
        .expect("invitations")
        .expect("the invitation");
    let due = inv.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();

    // Delivered: exactly what the templates make of the facts, side by side.
    let got = expect_emails(
        &app,
        &sink,
        &name,
        &[
            ("INVITATION_RECEIVED", FRANK, CONTOSO, &theirs),
            ("INVITATION_SENT", ANNA, FABRIKAM, &mine),
            ("INVITATION_EXPIRING_SOON", FRANK, CONTOSO, &theirs),
            ("INVITATION_EXPIRED", ANNA, FABRIKAM, &mine),
            ("INVITATION_EXPIRED", OTTO, FABRIKAM, &mine),
            ("INVITATION_EXPIRED", FRANK, CONTOSO, &theirs),
        ],
    )
    .await;
    let cases = [
        (
            MailKind::InvitationExpiringSoon,
            FRANK,
            frank_name.as_str(),
            CONTOSO,
            &theirs,
        ),
        (
            MailKind::InvitationExpired,
            ANNA,
            "Anna Admin",
            FABRIKAM,
            &mine,
        ),
        (
            MailKind::InvitationExpired,
            OTTO,
            "Otto <Outside> & Co",
            FABRIKAM,
            &mine,
        ),
        (
            MailKind::InvitationExpired,
            FRANK,
            frank_name.as_str(),
            CONTOSO,
            &theirs,
        ),
    ];
    for (kind, to, recipient, other, opportunity) in cases {
        let (r, mail) = got
            .iter()
            .find(|(r, _)| r.kind == kind.as_str() && r.recipient_email == to)
            .expect("delivered");
        assert_eq!(r.invitation_id, Some(invitation), "{kind:?} to {to}");
        let want = render(
            kind,
            &Facts {
                recipient_name: recipient.to_owned(),
                deal_name: name.clone(),
                customer_name: CUSTOMER.to_owned(),
                other_party: other.to_owned(),
                link: link(opportunity),
                due: due.clone(),
                reason: None,
                notes: None,
                contacts: Vec::new(),
            },
        );
        let what = format!("{kind:?} to {to}");
        assert_eq!(
            mail.header("Subject"),
            Some(want.subject.as_str()),
            "{what}"
        );
        assert_eq!(
            mail.part("text/plain").trim_end(),
            want.text.trim_end(),
            "{what}"
        );
        assert_eq!(
            mail.part("text/html").trim_end(),
            want.html.trim_end(),
            "{what}"
        );
        assert_eq!(mail.message_id(), message_id(r), "{what}");
    }
    app.finish().await;
}

/// The team lists a muted user's address in another case than the directory: still
/// no email for them.
async fn a_muted_user_gets_nothing_whatever_case_the_team_lists_the_address_in(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, Some(&sink), |_| {}).await else {
        return;
    };
    let fx = fixtures(&app).await;
    mute(&app, UWE).await;
    let name = unique("Muted Email");
    let mine = create_deal(
        &app,
        &fx,
        &name,
        vec![
            member("Anna Admin", ANNA, true),
            member("Uwe User", "Uwe@Contoso.Example", true),
        ],
        &[&fx.fabrikam],
    )
    .await;
    let theirs = received(&app, FRANK, &name).await;
    mutate(
        &app,
        FRANK,
        "declineInvitation",
        "DeclineInvitationInput",
        json!({ "opportunityId": theirs, "reason": "BUDGET_NOT_ADEQUATE", "notes": "No" }),
    )
    .await;
    expect_emails(
        &app,
        &sink,
        &name,
        &[
            ("INVITATION_RECEIVED", FRANK, CONTOSO, &theirs),
            ("INVITATION_SENT", ANNA, FABRIKAM, &mine),
            ("INVITATION_DECLINED", ANNA, FABRIKAM, &mine),
            ("DECLINED_CONFIRMATION", FRANK, CONTOSO, &theirs),
        ],
    )
    .await;
    assert!(
        sink.to(UWE)
            .iter()
            .all(|m| !Mail::from_sink(m).mentions(tag(&name)))
    );
    app.finish().await;
}

// ---------------------------------------------------------------------------------
// 2. Refusals: retried with backoff, then failed and shown to admins.
// ---------------------------------------------------------------------------------

/// The failed emails `email` sees: the JSON list.
async fn failed_emails(app: &TestApp, email: &str) -> Vec<Value> {
    let v = app
        .gql_as(
            email,
            "{ failedEmails(first: 100) { id kind recipientEmail subject attempts lastError } }",
            json!({}),
        )
        .await;
    v["failedEmails"].as_array().expect("failedEmails").clone()
}

async fn refused_emails_are_retried_with_backoff_then_failed_and_shown_to_admins(backend: Backend) {
    const BASE_MS: i64 = 500;
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, Some(&sink), |c| {
        c.mail_max_attempts = 3;
        c.mail_retry_base_ms = BASE_MS as u64;
    })
    .await
    else {
        return;
    };
    let fx = fixtures(&app).await;
    // Frank's server says "later" every time; Nadia's says "never"; Alex's says "later"
    // once, then takes the message.
    sink.answer(FRANK, Answer::Passing);
    sink.answer(NADIA, Answer::Permanent);
    sink.answer(ALEX, Answer::Passing);
    let name = unique("Refused Email");
    create_deal(
        &app,
        &fx,
        &name,
        vec![member("Anna Admin", ANNA, true)],
        &[&fx.fabrikam, &fx.northwind, &fx.adventure],
    )
    .await;
    let all = rows(&app, tag(&name)).await;
    let to = |email: &str| {
        let found: Vec<&email_outbox::Model> =
            all.iter().filter(|r| r.recipient_email == email).collect();
        assert_eq!(found.len(), 1, "one email to {email}: {all:?}");
        found[0].id
    };
    let (frank, nadia, alex) = (to(FRANK), to(NADIA), to(ALEX));
    for invitee in [FABRIKAM, NORTHWIND, ADVENTURE] {
        let sent = all
            .iter()
            .filter(|r| r.recipient_email == ANNA && r.subject.contains(invitee))
            .count();
        assert_eq!(
            sent, 1,
            "Anna hears once that {invitee} was invited: {all:#?}"
        );
    }

    // Watch the rows until every one is settled, noting Frank's retry schedule, and let
    // Alex's server accept once it refused a first time.
    let mut schedule: BTreeMap<i32, (String, chrono::DateTime<chrono::Utc>)> = BTreeMap::new();
    let mut alex_open = false;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = rows(&app, tag(&name)).await;
        let get = |id: Uuid| now.iter().find(|r| r.id == id).expect("row").clone();
        let f = get(frank);
        schedule
            .entry(f.attempts)
            .or_insert((f.status.clone(), f.next_attempt_at));
        let a = get(alex);
        if !alex_open && a.attempts >= 1 {
            assert_eq!(a.status, "PENDING", "a passing refusal is retried: {a:?}");
            sink.answer(ALEX, Answer::Accept);
            alex_open = true;
        }
        if now.iter().all(|r| r.status != "PENDING") {
            break;
        }
        assert!(Instant::now() < deadline, "rows still pending: {now:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Frank: three attempts, waiting base, then twice base, then failed for good.
    let f = row(&app, frank).await;
    assert_eq!(f.status, "FAILED", "{f:?}");
    assert_eq!(f.attempts, 3, "{f:?}");
    assert!(
        f.last_error.as_deref().is_some_and(|e| e.contains("451")),
        "{f:?}"
    );
    assert!(
        sink.to(FRANK)
            .iter()
            .all(|m| !Mail::from_sink(m).mentions(tag(&name)))
    );
    for k in [1, 2] {
        let (status, next) = schedule
            .get(&k)
            .unwrap_or_else(|| panic!("never saw Frank's row after attempt {k}: {schedule:?}"));
        assert_eq!(status, "PENDING", "after attempt {k}: {schedule:?}");
        let waited = (*next - f.created_at).num_milliseconds();
        let at_least = BASE_MS * ((1 << k) - 1);
        assert!(
            waited >= at_least,
            "attempt {} is due {waited} ms after the email was queued, want at least {at_least}: {schedule:?}",
            k + 1
        );
    }
    let gap = (schedule[&2].1 - schedule[&1].1).num_milliseconds();
    assert!(
        gap >= 2 * BASE_MS,
        "the backoff doubles: {gap} ms between attempts 2 and 3"
    );

    // Nadia: refused for good at once.
    let n = row(&app, nadia).await;
    assert_eq!(n.status, "FAILED", "{n:?}");
    assert_eq!(n.attempts, 1, "{n:?}");
    assert!(
        n.last_error.as_deref().is_some_and(|e| e.contains("550")),
        "{n:?}"
    );

    // Alex: delivered once, on a later attempt.
    let a = row(&app, alex).await;
    assert_eq!(a.status, "SENT", "{a:?}");
    assert!(a.attempts >= 2, "{a:?}");
    let copies = with_id(&sink, &message_id(&a));
    assert_eq!(copies.len(), 1, "Alex got the email once: {copies:?}");
    assert_eq!(copies[0].to, vec![ALEX.to_owned()]);

    // Admins see their own organization's failures, with the mail server's answer.
    let seen = failed_emails(&app, FRANK).await;
    let mine: Vec<&Value> = seen
        .iter()
        .filter(|e| e["id"] == frank.to_string())
        .collect();
    assert_eq!(mine.len(), 1, "Frank sees the failure: {seen:?}");
    assert_eq!(mine[0]["kind"], "INVITATION_RECEIVED");
    assert_eq!(mine[0]["recipientEmail"], FRANK);
    assert_eq!(mine[0]["attempts"], 3);
    assert!(
        mine[0]["subject"]
            .as_str()
            .is_some_and(|s| s.contains(tag(&name)))
    );
    assert!(
        mine[0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("451")),
        "{seen:?}"
    );
    let seen = failed_emails(&app, NADIA).await;
    let mine: Vec<&Value> = seen
        .iter()
        .filter(|e| e["id"] == nadia.to_string())
        .collect();
    assert_eq!(mine.len(), 1, "Nadia sees the failure: {seen:?}");
    assert_eq!(mine[0]["attempts"], 1);
    assert!(
        mine[0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("550")),
        "{seen:?}"
    );
    // Not another organization's, nor a delivered one.
    for (admin, not) in [(ANNA, "Anna"), (ALEX, "Alex"), (FRANK, "Frank")] {
        let seen = failed_emails(&app, admin).await;
        let foreign: Vec<&Value> = seen
            .iter()
            .filter(|e| {
                e["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains(tag(&name)))
                    && !e["recipientEmail"]
                        .as_str()
                        .is_some_and(|r| r.eq_ignore_ascii_case(admin))
            })
            .collect();
        assert!(foreign.is_empty(), "{not} sees {foreign:?}");
    }
    // A referral user may not look.
    let token = app.token(FIONA).await;
    let v = app
        .gql(
            Some(&token),
            "{ failedEmails(first: 10) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&v), "FORBIDDEN", "{v}");
    app.finish().await;
}

/// Whom [`queued`]'s deal invites: Fabrikam, or Fabrikam and Northwind.
enum Invitees {
    One,
    Two,
}

/// An app whose own worker does not run, with the emails of a new deal of Anna's
/// (`label`, inviting `invitees`) waiting in the outbox: the app, its fixtures, the
/// deal's name, and those emails' rows.
async fn queued(
    backend: Backend,
    sink: &SmtpSink,
    label: &str,
    invitees: Invitees,
) -> Option<(TestApp, Fx, String, Vec<email_outbox::Model>)> {
    let app = spawn(backend, Some(sink), |c| c.mail_worker = false).await?;
    let fx = fixtures(&app).await;
    let name = unique(label);
    let orgs = match invitees {
        Invitees::One => vec![fx.fabrikam.as_str()],
        Invitees::Two => vec![fx.fabrikam.as_str(), fx.northwind.as_str()],
    };
    create_deal(
        &app,
        &fx,
        &name,
        vec![member("Anna Admin", ANNA, true)],
        &orgs,
    )
    .await;
    let ours = rows(&app, tag(&name)).await;
    Some((app, fx, name, ours))
}

// ---------------------------------------------------------------------------------
// 3. A crashed worker loses nothing.
// ---------------------------------------------------------------------------------

async fn a_crashed_worker_loses_no_email(backend: Backend) {
    let sink = SmtpSink::start().await;
    // This instance's worker is the one that "crashed": it never runs; the emails
    // are claimed below the way it claims them.
    let Some((app, fx, name, ours)) = queued(backend, &sink, "Crash Email", Invitees::Two).await
    else {
        return;
    };
    assert_eq!(ours.len(), 4, "{ours:#?}");
    // The crashed worker had leased every pending email (the demo's too) for 60 s.
    let pending: Vec<Uuid> = email_outbox::Entity::find()
        .filter(email_outbox::Column::Status.eq("PENDING"))
        .all(&app.db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(
        ours.iter().all(|r| pending.contains(&r.id)),
        "nothing was sent yet"
    );
    let lease = app.server.services.clock.now() + chrono::Duration::seconds(60);
    let claimed = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::LeaseUntil, Expr::value(Some(lease)))
        .filter(email_outbox::Column::Status.eq("PENDING"))
        .filter(email_outbox::Column::Id.is_in(pending.clone()))
        .exec(&app.db)
        .await
        .expect("lease");
    assert_eq!(claimed.rows_affected as usize, pending.len());

    // A live worker (another instance on the same database) starts.
    let live = app.second_instance(|c| c.mail_worker = true).await;
    // It is running: an email queued now arrives...
    let canary = unique("Canary Email");
    create_deal(
        &app,
        &fx,
        &canary,
        vec![member("Anna Admin", ANNA, true)],
        &[&fx.fabrikam],
    )
    .await;
    delivered(&app, &sink, tag(&canary)).await;
    // ...while the leased ones wait for their lease to run out.
    for id in &pending {
        let r = row(&app, *id).await;
        assert_eq!(r.status, "PENDING", "{r:?}");
        assert_eq!(r.attempts, 0, "{r:?}");
        assert!(
            with_id(&sink, &message_id(&r)).is_empty(),
            "{} was sent under lease",
            r.id
        );
    }

    // The lease runs out: every email arrives, once, under its own Message-ID.
    app.advance_clock(chrono::Duration::seconds(61));
    live.services.clock.advance(chrono::Duration::seconds(61));
    eventually("the leased emails", async || {
        let mut all_sent = true;
        for id in &pending {
            let r = row(&app, *id).await;
            all_sent &= r.status == "SENT" && !with_id(&sink, &message_id(&r)).is_empty();
        }
        all_sent.then_some(())
    })
    .await;
    for id in &pending {
        let r = row(&app, *id).await;
        assert_eq!(r.attempts, 1, "{r:?}");
        let copies = with_id(&sink, &message_id(&r));
        assert_eq!(copies.len(), 1, "{} arrived {} times", r.id, copies.len());
        assert_eq!(copies[0].to, vec![r.recipient_email.clone()]);
    }
    let got = delivered(&app, &sink, tag(&name)).await;
    assert_eq!(got.len(), 4);

    // A crash after the mail server took a message but before it was recorded: the
    // resend carries the same Message-ID.
    let again = got
        .iter()
        .find(|(r, _)| r.recipient_email == FRANK)
        .expect("Frank's email")
        .0
        .clone();
    email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Status, Expr::value("PENDING"))
        .col_expr(email_outbox::Column::Attempts, Expr::value(0))
        .col_expr(
            email_outbox::Column::SentAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(Some(
                live.services.clock.now() - chrono::Duration::seconds(1),
            )),
        )
        .filter(email_outbox::Column::Id.eq(again.id))
        .exec(&app.db)
        .await
        .expect("un-record");
    let copies = eventually("the resend", async || {
        let copies = with_id(&sink, &message_id(&again));
        (copies.len() >= 2 && row(&app, again.id).await.status == "SENT").then_some(copies)
    })
    .await;
    assert_eq!(copies.len(), 2, "{copies:?}");
    for c in &copies {
        assert_eq!(c.message_id(), message_id(&again));
        assert_eq!(c.to, vec![FRANK.to_owned()]);
        assert_eq!(c.header("Subject"), copies[0].header("Subject"));
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), live.shutdown()).await;
    app.finish().await;
}

// ---------------------------------------------------------------------------------
// 4. No SMTP: .eml files.
// ---------------------------------------------------------------------------------

/// The `.eml` files in `dir`, parsed (recipients from the `To` header).
fn eml_files(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|raw| {
            let m = Mail::parse(&raw, Vec::new());
            let to = m
                .header("To")
                .map(|t| {
                    t.split_once('<')
                        .and_then(|(_, r)| r.split_once('>'))
                        .map_or(t, |(a, _)| a)
                        .trim()
                        .to_owned()
                })
                .into_iter()
                .collect();
            Mail { to, ..m }
        })
        .collect()
}

/// Two instances' workers start on one backlog at the same moment: every email is
/// delivered once, attempted once, under its own Message-ID.
async fn two_workers_at_once_deliver_each_email_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, Some(&sink), |c| c.mail_worker = false).await else {
        return;
    };
    let fx = fixtures(&app).await;
    let names: Vec<String> = (0..6)
        .map(|n| unique(&format!("Twice {n} Email")))
        .collect();
    for name in &names {
        create_deal(
            &app,
            &fx,
            name,
            vec![member("Anna Admin", ANNA, true)],
            &[&fx.fabrikam, &fx.northwind],
        )
        .await;
    }
    let mut ours = Vec::new();
    for name in &names {
        ours.extend(rows(&app, tag(name)).await);
    }
    assert_eq!(ours.len(), 24, "four emails per deal");
    // Small batches, so the two workers' claims interleave over the backlog.
    let tweak = |c: &mut Config| {
        c.mail_worker = true;
        c.mail_batch = 2;
    };
    let (one, two) = tokio::join!(app.second_instance(tweak), app.second_instance(tweak));
    eventually("every email sent", async || {
        let mut all = true;
        for r in &ours {
            all &= row(&app, r.id).await.status == "SENT";
        }
        all.then_some(())
    })
    .await;
    for r in &ours {
        let r = row(&app, r.id).await;
        assert_eq!(r.attempts, 1, "{r:?}");
        let copies = with_id(&sink, &message_id(&r));
        assert_eq!(copies.len(), 1, "{} arrived {} times", r.id, copies.len());
    }
    let _ = one.shutdown().await;
    let _ = two.shutdown().await;
    app.finish().await;
}

async fn without_smtp_emails_are_written_as_eml_files(backend: Backend) {
    let Some(app) = spawn(backend, None, |c| c.smtp_host = None).await else {
        return;
    };
    let fx = fixtures(&app).await;
    let name = unique("File Email");
    let mine = create_deal(
        &app,
        &fx,
        &name,
        vec![member("Anna Admin", ANNA, true)],
        &[&fx.fabrikam],
    )
    .await;
    let theirs = received(&app, FRANK, &name).await;
    let dir = app.config.data_dir.join("outbox");
    let (rows, files) = eventually("the .eml files", async || {
        let rows = rows(&app, tag(&name)).await;
        let files: Vec<Mail> = eml_files(&dir)
            .into_iter()
            .filter(|m| m.mentions(tag(&name)))
            .collect();
        (rows.len() == 2 && rows.iter().all(|r| r.status == "SENT") && files.len() >= 2)
            .then_some((rows, files))
    })
    .await;
    assert_eq!(files.len(), 2, "one file per email: {files:?}");
    for (kind, to, other, opportunity) in [
        ("INVITATION_RECEIVED", FRANK, CONTOSO, &theirs),
        ("INVITATION_SENT", ANNA, FABRIKAM, &mine),
    ] {
        let r = rows
            .iter()
            .find(|r| r.kind == kind && r.recipient_email == to)
            .unwrap_or_else(|| panic!("no {kind} to {to}: {rows:#?}"));
        let file = files
            .iter()
            .find(|m| m.message_id() == message_id(r))
            .unwrap_or_else(|| panic!("no file for {kind} to {to}"));
        check_mail(r, file, to, &name, other, opportunity);
    }
    app.finish().await;
}

// ---------------------------------------------------------------------------------
// Shutting down finishes the deliveries in flight (SPEC §10).
// ---------------------------------------------------------------------------------

async fn shutdown_finishes_the_deliveries_in_flight(backend: Backend) {
    let sink = SmtpSink::start().await;
    // The emails wait in the outbox until the delivering instance below starts.
    let Some((app, _, _, ours)) = queued(backend, &sink, "Shutdown Email", Invitees::One).await
    else {
        return;
    };
    assert!(!ours.is_empty());

    // The SMTP server holds its answer to the first message: a delivery in flight.
    sink.hold(true);
    let live = app.second_instance(|c| c.mail_worker = true).await;
    eventually("a delivery in flight", async || {
        (sink.held() > 0).then_some(())
    })
    .await;
    let stopping = tokio::spawn(live.shutdown());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !stopping.is_finished(),
        "the instance stopped with a delivery in flight"
    );
    sink.hold(false);
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("the instance stops once its deliveries are done")
        .expect("shutdown task")
        .expect("shutdown");

    // Every message that reached the SMTP server is recorded as sent, once: none is
    // left pending to be sent again by the next instance.
    let sent = email_outbox::Entity::find()
        .filter(email_outbox::Column::Status.eq("SENT"))
        .all(&app.db)
        .await
        .expect("outbox");
    let messages = sink.messages();
    assert!(!messages.is_empty(), "the held message was delivered");
    assert_eq!(messages.len(), sent.len(), "{sent:#?}");
    for r in &sent {
        assert_eq!(with_id(&sink, &message_id(r)).len(), 1, "{r:?}");
        assert_eq!(r.attempts, 1, "{r:?}");
    }
    app.finish().await;
}
