//! Silences: "do not notify about alerts whose labels match these, from `starts_at` until
//! `ends_at`", with who asked and why. Stored in `slo_silence`; a silence is never deleted,
//! it is expired (its `ends_at` set to now) so the record of who silenced what stays.
//!
//! A matcher is an equality on one of the alert's labels: `slo`, `journey`, `service`, `tier`,
//! `severity`, `long_window`, `short_window`, or any label the spec puts on its alerts
//! (`labels:`, e.g. `team`). Every matcher of a silence must match.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use platform::Db;

/// The most matchers one silence has: a silence names an alert, a journey or a team, not a
/// list of everything (50,000 matchers were accepted once, and every cycle matched them all).
pub const MAX_MATCHERS: usize = 32;

/// The longest a silence may last from now: a quarter. Anything longer is not a silence but a
/// receiver that should be removed, or a tier that should not page.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(24 * 90);

/// `name = value` on an alert label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Matcher {
    pub name: String,
    pub value: String,
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Silence {
    pub id: i64,
    pub matchers: Vec<Matcher>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub starts_at: Timestamp,
    #[schema(value_type = String)]
    pub ends_at: Timestamp,
    pub author: String,
    pub comment: String,
}

/// A silence to create, validated by [`NewSilence::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewSilence {
    matchers: Vec<Matcher>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    author: String,
    comment: String,
}

/// Why a silence was refused; `field` names what is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidSilence {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidSilence {
    InvalidSilence { field, message: message.into() }
}

impl NewSilence {
    /// Checks a request once, at the edge: one to [`MAX_MATCHERS`] matchers, each with a label
    /// name and a value; an end after the start, after `now` and at most [`MAX_DURATION`] from
    /// it; an author and a comment.
    pub fn parse(
        matchers: Vec<Matcher>,
        starts_at: Option<Timestamp>,
        ends_at: Timestamp,
        author: &str,
        comment: &str,
        now: Timestamp,
    ) -> Result<NewSilence, InvalidSilence> {
        if matchers.is_empty() {
            return Err(invalid("matchers", "at least one matcher (e.g. {\"name\": \"slo\", \"value\": \"...\"})"));
        }
        if matchers.len() > MAX_MATCHERS {
            return Err(invalid("matchers", format!("at most {MAX_MATCHERS} matchers (got {})", matchers.len())));
        }
        let label =
            |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if let Some(m) = matchers.iter().find(|m| !label(&m.name)) {
            return Err(invalid("matchers", format!("{:?} is not a label name", m.name)));
        }
        if matchers.iter().any(|m| m.value.is_empty() || m.value.len() > 512) {
            return Err(invalid("matchers", "every matcher needs a value of 1 to 512 characters"));
        }
        let starts_at = starts_at.unwrap_or(now);
        if ends_at <= starts_at || ends_at <= now {
            return Err(invalid("ends_at", "must be after starts_at and in the future"));
        }
        if now.checked_add(MAX_DURATION).is_ok_and(|latest| ends_at > latest) {
            return Err(invalid("ends_at", "must be at most 90 days from now"));
        }
        let (author, comment) = (author.trim(), comment.trim());
        if author.is_empty() || author.len() > 256 {
            return Err(invalid("author", "who is silencing (1 to 256 characters)"));
        }
        if comment.is_empty() || comment.len() > 4096 {
            return Err(invalid("comment", "why (1 to 4096 characters)"));
        }
        Ok(NewSilence { matchers, starts_at, ends_at, author: author.into(), comment: comment.into() })
    }
}

impl Silence {
    /// In force at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Every matcher equals the alert's label of that name.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|m| labels.get(&m.name).is_some_and(|v| *v == m.value))
    }
}

fn ts(ms: i64) -> Result<Timestamp, sqlx::Error> {
    Timestamp::from_millisecond(ms).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn from_row(row: &AnyRow) -> Result<Silence, sqlx::Error> {
    let matchers: String = row.try_get("matchers")?;
    Ok(Silence {
        id: row.try_get("slo_silence_id")?,
        matchers: serde_json::from_str(&matchers).map_err(|e| sqlx::Error::Decode(e.into()))?,
        starts_at: ts(row.try_get("starts_at")?)?,
        ends_at: ts(row.try_get("ends_at")?)?,
        author: row.try_get("author")?,
        comment: row.try_get("comment")?,
    })
}

const COLUMNS: &str = "slo_silence_id, matchers, starts_at, ends_at, author, comment";

/// Stores a silence and returns it with its id.
#[tracing::instrument(skip_all, fields(author = %new.author))]
pub async fn create(db: &Db, new: &NewSilence, now: Timestamp) -> Result<Silence, sqlx::Error> {
    let matchers = serde_json::to_string(&new.matchers).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into slo_silence (matchers, starts_at, ends_at, author, comment, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $6) returning {COLUMNS}"
    )))
    .bind(matchers)
    .bind(new.starts_at.as_millisecond())
    .bind(new.ends_at.as_millisecond())
    .bind(&new.author)
    .bind(&new.comment)
    .bind(now.as_millisecond())
    .fetch_one(db.writer())
    .await?;
    from_row(&row)
}

/// Silences that have not ended at `now` (active and future), soonest end first.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, now: Timestamp) -> Result<Vec<Silence>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_silence where ends_at > $1 order by ends_at, slo_silence_id"
    )))
    .bind(now.as_millisecond())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Ends a silence at `now`. `None` when there is no such silence; an already ended one is
/// returned as it is.
#[tracing::instrument(skip_all, fields(id))]
pub async fn expire(db: &Db, id: i64, now: Timestamp) -> Result<Option<Silence>, sqlx::Error> {
    let ms = now.as_millisecond();
    sqlx::query("update slo_silence set ends_at = $1, updated_at = $1 where slo_silence_id = $2 and ends_at > $1")
        .bind(ms)
        .bind(id)
        .execute(db.writer())
        .await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from slo_silence where slo_silence_id = $1")))
        .bind(id)
        .fetch_optional(db.writer())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The silences in force at `now`, read inside the caller's transaction.
pub(crate) async fn active(conn: &mut sqlx::AnyConnection, now: Timestamp) -> Result<Vec<Silence>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_silence where starts_at <= $1 and ends_at > $1"
    )))
    .bind(now.as_millisecond())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn m(name: &str, value: &str) -> Matcher {
        Matcher { name: name.into(), value: value.into() }
    }

    #[test]
    fn a_silence_needs_matchers_a_future_end_an_author_and_a_comment() {
        let now = at("2026-01-01T00:00:00Z");
        let end = at("2026-01-01T02:00:00Z");
        assert!(NewSilence::parse(vec![m("slo", "a")], None, end, "kaito", "deploy", now).is_ok());
        let field = |r: Result<NewSilence, InvalidSilence>| r.expect_err("invalid").field;
        assert_eq!(field(NewSilence::parse(vec![], None, end, "kaito", "deploy", now)), "matchers");
        assert_eq!(field(NewSilence::parse(vec![m("bad name", "a")], None, end, "k", "c", now)), "matchers");
        assert_eq!(field(NewSilence::parse(vec![m("slo", "a")], None, now, "k", "c", now)), "ends_at");
        assert_eq!(field(NewSilence::parse(vec![m("slo", "a")], None, end, " ", "c", now)), "author");
        assert_eq!(field(NewSilence::parse(vec![m("slo", "a")], None, end, "k", "", now)), "comment");
    }

    #[test]
    fn a_silence_has_at_most_32_matchers_and_ends_within_90_days() {
        let now = at("2026-01-01T00:00:00Z");
        let in_days = |d: i64| now.checked_add(SignedDuration::from_hours(24 * d)).expect("ts");
        let many = |n: usize| (0..n).map(|i| m("slo", &format!("slo-{i}"))).collect::<Vec<_>>();

        let at_the_bounds = NewSilence::parse(many(32), None, in_days(90), "kaito", "freeze", now);
        let too_many = NewSilence::parse(many(33), None, in_days(1), "kaito", "freeze", now);
        let a_century = NewSilence::parse(many(1), None, in_days(36_500), "kaito", "forever", now);

        assert!(at_the_bounds.is_ok(), "{at_the_bounds:?}");
        assert_eq!(too_many.expect_err("33 matchers").field, "matchers");
        assert_eq!(a_century.expect_err("100 years").field, "ends_at");
    }

    #[test]
    fn a_silence_matches_when_every_matcher_equals_a_label_and_only_between_its_bounds() {
        let s = Silence {
            id: 1,
            matchers: vec![m("journey", "create-shipment"), m("team", "fulfillment")],
            starts_at: at("2026-01-01T00:00:00Z"),
            ends_at: at("2026-01-01T01:00:00Z"),
            author: "kaito".into(),
            comment: "known".into(),
        };
        let labels: BTreeMap<String, String> = [("journey", "create-shipment"), ("team", "fulfillment"), ("slo", "x")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        assert!(s.matches(&labels));
        let mut other = labels.clone();
        other.insert("team".into(), "billing".into());
        assert!(!s.matches(&other));
        assert!(s.is_active(at("2026-01-01T00:30:00Z")));
        assert!(!s.is_active(at("2026-01-01T01:00:00Z")));
    }
}
