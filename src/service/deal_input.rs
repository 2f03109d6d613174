//! The parts of deal inputs that several mutations share, and their checks: deal
//! details, team members, customer contact, invitation terms.
use chrono::NaiveDate;
use uuid::Uuid;

use super::{Checks, path};
use crate::domain::deal::HelpWanted;
use crate::domain::values::{Currency, Email, Money, Name, Notes, Phone, optional_name};
use crate::error::{UserError, UserErrorCode};

/// The most items a list input may hold (team members, solutions, invitations).
pub const MAX_LIST: usize = 50;

/// A team member as sent.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TeamMemberIn {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub notify: Option<bool>,
}

/// A checked team member.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TeamMember {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub notify: bool,
}

pub fn team_member(c: &mut Checks, at: &[String], m: &TeamMemberIn) -> Option<TeamMember> {
    let name = c.take_at(path(at, &["name"]), Name::parse(&m.name));
    let phone = c.take_at(path(at, &["phone"]), Phone::parse(&m.phone));
    let email = c.take_at(path(at, &["email"]), Email::parse(&m.email));
    Some(TeamMember {
        name: name?.into_inner(),
        phone: phone?.as_str().to_owned(),
        email: email?.as_str().to_owned(),
        notify: m.notify.unwrap_or(true),
    })
}

/// A team: at least one member when `required`, at most [`MAX_LIST`], emails distinct.
pub fn team(
    c: &mut Checks,
    at: &[String],
    members: &[TeamMemberIn],
    required: bool,
) -> Vec<TeamMember> {
    if required && members.is_empty() {
        c.push(UserError::at(
            UserErrorCode::BadUserInput,
            "the team needs at least one member",
            at.to_vec(),
        ));
    }
    if members.len() > MAX_LIST {
        c.push(UserError::at(
            UserErrorCode::BadUserInput,
            format!("at most {MAX_LIST} team members"),
            at.to_vec(),
        ));
        return Vec::new();
    }
    let mut out: Vec<TeamMember> = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let here = path(at, &[&i.to_string()]);
        if let Some(tm) = team_member(c, &here, m) {
            if out.iter().any(|o| o.email.eq_ignore_ascii_case(&tm.email)) {
                c.push(UserError::at(
                    UserErrorCode::BadUserInput,
                    format!("{} is on the team twice", tm.email),
                    path(&here, &["email"]),
                ));
            } else {
                out.push(tm);
            }
        }
    }
    out
}

/// Solution ids: at least one when `required`, at most [`MAX_LIST`], distinct.
pub fn solution_ids(c: &mut Checks, at: &[String], ids: &[Uuid], required: bool) -> Vec<Uuid> {
    if required && ids.is_empty() {
        c.push(UserError::at(
            UserErrorCode::BadUserInput,
            "at least one solution is required",
            at.to_vec(),
        ));
    }
    if ids.len() > MAX_LIST {
        c.push(UserError::at(
            UserErrorCode::BadUserInput,
            format!("at most {MAX_LIST} solutions"),
            at.to_vec(),
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

/// Value and currency: both or neither; the value non-negative with at most the
/// currency's minor units.
pub fn money(
    c: &mut Checks,
    at: &[String],
    value: Option<&str>,
    currency: Option<&str>,
) -> Option<Option<Money>> {
    match (value.map(str::trim), currency.map(str::trim)) {
        (None | Some(""), None | Some("")) => Some(None),
        (Some(v), Some(cur)) if !v.is_empty() && !cur.is_empty() => {
            let cur = c.take_at(path(at, &["currency"]), Currency::parse(cur))?;
            c.take_at(path(at, &["value"]), Money::parse(v, cur))
                .map(Some)
        }
        (Some(v), _) if !v.is_empty() => {
            c.push(UserError::at(
                UserErrorCode::BadUserInput,
                "a value needs its currency",
                path(at, &["currency"]),
            ));
            None
        }
        _ => {
            c.push(UserError::at(
                UserErrorCode::BadUserInput,
                "a currency needs a value",
                path(at, &["value"]),
            ));
            None
        }
    }
}

/// A close date, when set, is today or later.
pub fn close_date(
    c: &mut Checks,
    at: &[String],
    date: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<Option<NaiveDate>> {
    match date {
        Some(d) if d < today => {
            c.push(UserError::at(
                UserErrorCode::BadUserInput,
                format!("closeDate {d} is in the past"),
                path(at, &["closeDate"]),
            ));
            None
        }
        other => Some(other),
    }
}

/// Optional notes, at most 10,000 characters.
pub fn notes(c: &mut Checks, at: &[String], notes: Option<&str>) -> Option<Option<String>> {
    match notes {
        None => Some(None),
        Some(n) => c
            .take_at(path(at, &["notes"]), Notes::parse(n))
            .map(|n| Some(n.into_inner()).filter(|s| !s.is_empty())),
    }
}

/// An optional short text field (CRM ID, campaign ID).
pub fn short(
    c: &mut Checks,
    at: &[String],
    field: &str,
    v: Option<&str>,
) -> Option<Option<String>> {
    c.take_at(path(at, &[field]), optional_name(v))
        .map(|n| n.map(Name::into_inner))
}

/// The customer contact as sent.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ContactIn {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub consent: bool,
}

/// A checked customer contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub consent: bool,
}

pub fn contact(c: &mut Checks, at: &[String], input: &ContactIn) -> Option<Contact> {
    let name = c.take_at(path(at, &["name"]), Name::parse(&input.name));
    let phone = c.take_at(path(at, &["phone"]), Phone::parse(&input.phone));
    let email = c.take_at(path(at, &["email"]), Email::parse(&input.email));
    Some(Contact {
        name: name?.into_inner(),
        phone: phone?.as_str().to_owned(),
        email: email?.as_str().to_owned(),
        consent: input.consent,
    })
}

/// The terms an inviter proposes, as sent.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TermsIn {
    pub close_date: Option<NaiveDate>,
    pub value: Option<String>,
    pub currency: Option<String>,
    pub notes: Option<String>,
    pub team: Option<Vec<TeamMemberIn>>,
    pub solution_ids: Option<Vec<Uuid>>,
    pub help_wanted: Option<HelpWanted>,
}

/// Checked terms; `None` lists mean "the inviting deal's own".
#[derive(Debug, Clone)]
pub struct Terms {
    pub close_date: Option<NaiveDate>,
    pub money: Option<Money>,
    pub notes: Option<String>,
    pub team: Option<Vec<TeamMember>>,
    pub solution_ids: Option<Vec<Uuid>>,
    pub help_wanted: HelpWanted,
}

pub fn terms(c: &mut Checks, at: &[String], t: &TermsIn, today: NaiveDate) -> Option<Terms> {
    let close = close_date(c, at, t.close_date, today);
    let money = money(c, at, t.value.as_deref(), t.currency.as_deref());
    let notes = notes(c, at, t.notes.as_deref());
    let team = t
        .team
        .as_ref()
        .map(|m| team(c, &path(at, &["team"]), m, true));
    let solutions = t
        .solution_ids
        .as_ref()
        .map(|ids| solution_ids(c, &path(at, &["solutionIds"]), ids, true));
    Some(Terms {
        close_date: close?,
        money: money?,
        notes: notes?,
        team,
        solution_ids: solutions,
        help_wanted: t.help_wanted.unwrap_or(HelpWanted::None),
    })
}

/// A stable 64-bit FNV-1a hash, for idempotency: the same request always hashes alike,
/// across builds and machines.
pub fn request_hash(value: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
