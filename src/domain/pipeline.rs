//! Pipeline insights (SPEC §7), as pure arithmetic over the rows in the caller's reach:
//! counts and per-currency sums by stage, deal type, direction and close month, the win
//! rate, and how promptly received invitations were answered.
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

/// What the figures need of one opportunity.
#[derive(Debug, Clone)]
pub struct DealRow {
    pub stage: String,
    pub deal_type: String,
    pub direction: String,
    pub close_date: Option<NaiveDate>,
    pub value_e4: Option<i64>,
    pub currency: Option<String>,
}

/// What the figures need of one received invitation.
#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    /// Accepted or declined (an expiry is no answer).
    pub answered: bool,
}

/// One group: how many, and the value per currency (never converted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    pub key: String,
    pub count: i64,
    /// Currency code -> sum in ten-thousandths.
    pub values: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pipeline {
    pub by_stage: Vec<Bucket>,
    pub by_deal_type: Vec<Bucket>,
    pub by_direction: Vec<Bucket>,
    pub by_close_month: Vec<Bucket>,
    /// Won / (won + lost); `None` without closed deals.
    pub win_rate: Option<f64>,
    pub invitations_received: i64,
    pub answered_within_window: i64,
    /// Answered within the window / received; `None` without invitations.
    pub share_answered_within_window: Option<f64>,
    /// Median hours from sending to answer, over answered invitations.
    pub median_hours_to_answer: Option<f64>,
}

/// One row of a grouped count: a key (stage, deal type...), a currency, how many
/// opportunities and their summed value.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub key: String,
    pub currency: Option<String>,
    pub count: i64,
    pub value_e4: Option<i64>,
}

/// Folds grouped rows into buckets by key, with values per currency.
pub fn buckets(rows: &[GroupRow]) -> Vec<Bucket> {
    let mut map: BTreeMap<String, Bucket> = BTreeMap::new();
    for r in rows {
        let b = map.entry(r.key.clone()).or_insert_with(|| Bucket {
            key: r.key.clone(),
            ..Default::default()
        });
        b.count += r.count;
        if let (Some(v), Some(c)) = (r.value_e4, &r.currency) {
            *b.values.entry(c.clone()).or_default() += v;
        }
    }
    map.into_values().collect()
}

/// Groups single deals as the database's grouped queries do (for tests and small sets).
pub fn group(rows: &[DealRow], key: impl Fn(&DealRow) -> String) -> Vec<Bucket> {
    let grouped: Vec<GroupRow> = rows
        .iter()
        .map(|r| GroupRow {
            key: key(r),
            currency: r.currency.clone(),
            count: 1,
            value_e4: r.value_e4,
        })
        .collect();
    buckets(&grouped)
}

/// Won / (won + lost) from the stage buckets.
pub fn win_rate(by_stage: &[Bucket]) -> Option<f64> {
    let n = |k: &str| {
        by_stage
            .iter()
            .find(|b| b.key == k)
            .map(|b| b.count)
            .unwrap_or(0) as f64
    };
    let (won, lost) = (n("WON"), n("LOST"));
    (won + lost > 0.0).then(|| won / (won + lost))
}

/// How received invitations were answered: (received, answered within the window,
/// that share, median hours to answer).
pub fn responsiveness(invitations: &[InvitationRow]) -> (i64, i64, Option<f64>, Option<f64>) {
    let in_window = invitations
        .iter()
        .filter(|i| i.answered && i.answered_at.is_some_and(|a| a <= i.expires_at))
        .count() as i64;
    let mut hours: Vec<f64> = invitations
        .iter()
        .filter(|i| i.answered)
        .filter_map(|i| {
            i.answered_at
                .map(|a| (a - i.sent_at).num_seconds() as f64 / 3600.0)
        })
        .collect();
    hours.sort_by(|a, b| a.total_cmp(b));
    let median = match hours.len() {
        0 => None,
        n if n % 2 == 1 => Some(hours[n / 2]),
        n => Some((hours[n / 2 - 1] + hours[n / 2]) / 2.0),
    };
    let received = invitations.len() as i64;
    (
        received,
        in_window,
        (received > 0).then(|| in_window as f64 / received as f64),
        median,
    )
}

/// The whole pipeline from single deals (the database groups them itself).
pub fn compute(deals: &[DealRow], invitations: &[InvitationRow]) -> Pipeline {
    let by_stage = group(deals, |d| d.stage.clone());
    let (received, in_window, share, median) = responsiveness(invitations);
    Pipeline {
        win_rate: win_rate(&by_stage),
        by_stage,
        by_deal_type: group(deals, |d| d.deal_type.clone()),
        by_direction: group(deals, |d| d.direction.clone()),
        by_close_month: group(deals, |d| {
            d.close_date
                .map(|c| c.format("%Y-%m").to_string())
                .unwrap_or_else(|| "NONE".into())
        }),
        invitations_received: received,
        answered_within_window: in_window,
        share_answered_within_window: share,
        median_hours_to_answer: median,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn deal(stage: &str, value: Option<(i64, &str)>, close: Option<&str>) -> DealRow {
        DealRow {
            stage: stage.into(),
            deal_type: "PRIVATE".into(),
            direction: "OUTBOUND".into(),
            close_date: close.map(|c| c.parse().expect("date")),
            value_e4: value.map(|v| v.0),
            currency: value.map(|v| v.1.to_owned()),
        }
    }

    #[test]
    fn values_are_summed_per_currency_never_converted() {
        let p = compute(
            &[
                deal("ACCEPTED", Some((10_000, "EUR")), Some("2026-12-01")),
                deal("ACCEPTED", Some((20_000, "EUR")), Some("2026-12-15")),
                deal("ACCEPTED", Some((5_000, "USD")), None),
                deal("WON", None, Some("2027-01-02")),
                deal("LOST", None, None),
                deal("LOST", None, None),
            ],
            &[],
        );
        let accepted = p
            .by_stage
            .iter()
            .find(|b| b.key == "ACCEPTED")
            .expect("bucket");
        assert_eq!(accepted.count, 3);
        assert_eq!(accepted.values.get("EUR"), Some(&30_000));
        assert_eq!(accepted.values.get("USD"), Some(&5_000));
        assert_eq!(p.win_rate, Some(1.0 / 3.0));
        let months: Vec<&str> = p.by_close_month.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(months, vec!["2026-12", "2027-01", "NONE"]);
    }

    #[test]
    fn responsiveness_counts_answers_within_the_window_and_the_median() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let inv = |h: Option<i64>, answered: bool| InvitationRow {
            sent_at: t,
            expires_at: t + Duration::hours(48),
            answered_at: h.map(|h| t + Duration::hours(h)),
            answered,
        };
        let p = compute(
            &[],
            &[
                inv(Some(2), true),
                inv(Some(10), true),
                inv(Some(60), true),
                inv(None, false),
            ],
        );
        assert_eq!(p.invitations_received, 4);
        assert_eq!(p.answered_within_window, 2);
        assert_eq!(p.share_answered_within_window, Some(0.5));
        assert_eq!(p.median_hours_to_answer, Some(10.0));
        assert_eq!(compute(&[], &[]).win_rate, None);
    }
}
