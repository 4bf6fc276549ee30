//! Decisions kept (`slo_gate_decision`): every decision with the deploy it was about, its
//! findings and reasons, where it came from and, for GitHub, whether it reached GitHub. Rows
//! are only added and their delivery updated; nothing is deleted, so the table is the audit
//! trail `GET /api/v1/decisions` and the dashboard read.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use platform::Db;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::decide::{Decision, Deploy, Finding, Reason, Sha, Verdict};

/// Which path asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `POST /api/v1/gate` (`slo gate`).
    Api,
    /// A GitHub `deployment_protection_rule` webhook.
    ProtectionRule,
    /// A commit status and check run for a repository without environments.
    CommitStatus,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::ProtectionRule => "protection-rule",
            Origin::CommitStatus => "commit-status",
        }
    }

    fn parse(s: &str) -> Origin {
        match s {
            "protection-rule" => Origin::ProtectionRule,
            "commit-status" => Origin::CommitStatus,
            _ => Origin::Api,
        }
    }
}

/// Whether a decision reached GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Not for GitHub (`slo gate`), or a hold (nothing to send yet).
    None,
    Pending,
    Delivered,
    /// GitHub refused it or could not be reached in time; `delivery_error` says why.
    Failed,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::None => "none",
            Delivery::Pending => "pending",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Delivery {
        match s {
            "pending" => Delivery::Pending,
            "delivered" => Delivery::Delivered,
            "failed" => Delivery::Failed,
            _ => Delivery::None,
        }
    }
}

/// A stored decision, as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredDecision {
    pub id: i64,
    pub service: String,
    pub environment: String,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub origin: Origin,
    pub verdict: Verdict,
    pub would_have: Verdict,
    pub shadow: bool,
    pub exception: Option<String>,
    pub override_id: Option<i64>,
    pub reasons: Vec<Reason>,
    pub slos: Vec<Finding>,
    pub labels: Vec<String>,
    pub delivery: Delivery,
    pub delivery_error: Option<String>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl StoredDecision {
    /// The decision part, as [`super::decide`] returned it.
    pub fn decision(&self) -> Decision {
        Decision {
            verdict: self.verdict,
            would_have: self.would_have,
            shadow: self.shadow,
            exception: self.exception.clone(),
            override_id: self.override_id,
            reasons: self.reasons.clone(),
            slos: self.slos.clone(),
        }
    }
}

/// What `inputs` keeps: the deploy, and for a decision stored before `slo_gate_findings`
/// existed, the findings.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    deploy: Deploy,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    slos: Vec<Finding>,
}

/// A decision's columns, with its shared findings (`findings`) when it has them.
const COLUMNS: &str = "d.slo_gate_decision_id, d.service, d.environment, d.sha, d.git_ref, d.origin, d.verdict, \
                       d.would_have, d.shadow, d.exception, d.slo_gate_override_id, d.reasons, d.inputs, d.delivery, \
                       d.delivery_error, d.created_at, f.slos as findings";

const FROM: &str = "slo_gate_decision d left join slo_gate_findings f on f.digest = d.findings_digest";

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn from_row(row: &AnyRow) -> Result<StoredDecision, sqlx::Error> {
    let verdict = |col: &str| -> Result<Verdict, sqlx::Error> {
        let s: String = row.try_get(col)?;
        Verdict::parse(&s).ok_or_else(|| sqlx::Error::Decode(format!("verdict `{s}`").into()))
    };
    let inputs: Stored = decode(&row.try_get::<String, _>("inputs")?)?;
    let slos = match row.try_get::<Option<String>, _>("findings")? {
        Some(findings) => decode(&findings)?,
        None => inputs.slos,
    };
    Ok(StoredDecision {
        id: row.try_get("slo_gate_decision_id")?,
        service: row.try_get("service")?,
        environment: row.try_get("environment")?,
        sha: row.try_get("sha")?,
        git_ref: row.try_get("git_ref")?,
        origin: Origin::parse(&row.try_get::<String, _>("origin")?),
        verdict: verdict("verdict")?,
        would_have: verdict("would_have")?,
        shadow: row.try_get::<i64, _>("shadow")? != 0,
        exception: row.try_get("exception")?,
        override_id: row.try_get("slo_gate_override_id")?,
        reasons: decode(&row.try_get::<String, _>("reasons")?)?,
        slos,
        labels: inputs.deploy.labels,
        delivery: Delivery::parse(&row.try_get::<String, _>("delivery")?),
        delivery_error: row.try_get("delivery_error")?,
        created_at: Timestamp::from_millisecond(row.try_get("created_at")?)
            .map_err(|e| sqlx::Error::Decode(e.into()))?,
    })
}

/// The findings a transaction has stored so far, with their digests: the decisions of one
/// worker pass share their findings (one evaluation, one environment), which are then
/// serialized, hashed and sent to the database once, not once per decision.
#[derive(Debug, Default)]
pub struct StoredFindings(Vec<(Vec<Finding>, String)>);

impl StoredFindings {
    /// The digest of `slos`, storing them first (on `conn`) when this transaction has not.
    async fn digest(&mut self, conn: &mut sqlx::AnyConnection, slos: &[Finding]) -> Result<String, sqlx::Error> {
        if let Some((_, digest)) = self.0.iter().find(|(stored, _)| stored.as_slice() == slos) {
            return Ok(digest.clone());
        }
        let json = serde_json::to_string(slos).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let digest = platform::signature::hex(&Sha256::digest(json.as_bytes()));
        sqlx::query("insert into slo_gate_findings (digest, slos) values ($1, $2) on conflict (digest) do nothing")
            .bind(digest.as_str())
            .bind(json)
            .execute(conn)
            .await?;
        self.0.push((slos.to_vec(), digest.clone()));
        Ok(digest)
    }
}

/// Stores a decision (on `conn`: the writer, or a transaction that stores several, sharing
/// `findings`). Its findings are stored once per distinct content (`slo_gate_findings`). A
/// hold has nothing to deliver yet: its delivery is stored as [`Delivery::None`].
#[tracing::instrument(skip_all, fields(service = %deploy.service, environment = %deploy.environment, verdict = %d.verdict))]
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    findings: &mut StoredFindings,
    deploy: &Deploy,
    d: &Decision,
    origin: Origin,
    delivery: Delivery,
    now: Timestamp,
) -> Result<StoredDecision, sqlx::Error> {
    let delivery = if d.verdict == Verdict::Hold { Delivery::None } else { delivery };
    let encode = |e: serde_json::Error| sqlx::Error::Encode(e.into());
    let reasons = serde_json::to_string(&d.reasons).map_err(encode)?;
    let inputs = serde_json::to_string(&Stored { deploy: deploy.clone(), slos: Vec::new() }).map_err(encode)?;
    let digest = findings.digest(conn, &d.slos).await?;
    let row = sqlx::query(
        "insert into slo_gate_decision (service, environment, sha, git_ref, origin, verdict, would_have, shadow, exception, \
         slo_gate_override_id, reasons, inputs, findings_digest, delivery, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) returning slo_gate_decision_id",
    )
    .bind(&deploy.service)
    .bind(&deploy.environment)
    .bind(deploy.sha.as_str())
    .bind(deploy.git_ref.as_deref())
    .bind(origin.as_str())
    .bind(d.verdict.as_str())
    .bind(d.would_have.as_str())
    .bind(i64::from(d.shadow))
    .bind(d.exception.as_deref())
    .bind(d.override_id)
    .bind(reasons)
    .bind(inputs)
    .bind(digest)
    .bind(delivery.as_str())
    .bind(now.as_millisecond())
    .fetch_one(conn)
    .await?;
    Ok(StoredDecision {
        id: row.try_get("slo_gate_decision_id")?,
        service: deploy.service.clone(),
        environment: deploy.environment.clone(),
        sha: deploy.sha.as_str().to_owned(),
        git_ref: deploy.git_ref.clone(),
        origin,
        verdict: d.verdict,
        would_have: d.would_have,
        shadow: d.shadow,
        exception: d.exception.clone(),
        override_id: d.override_id,
        reasons: d.reasons.clone(),
        slos: d.slos.clone(),
        labels: deploy.labels.clone(),
        delivery,
        delivery_error: None,
        // As stored: to the millisecond.
        created_at: Timestamp::from_millisecond(now.as_millisecond()).map_err(|e| sqlx::Error::Decode(e.into()))?,
    })
}

/// Records how a decision's delivery to GitHub went.
pub async fn set_delivery(
    conn: &mut sqlx::AnyConnection,
    id: i64,
    delivery: Delivery,
    error: Option<&str>,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query("update slo_gate_decision set delivery = $1, delivery_error = $2, updated_at = $3 where slo_gate_decision_id = $4")
        .bind(delivery.as_str())
        .bind(error)
        .bind(now.as_millisecond())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// When each of `service`'s deploys of `shas` was first decided, per (environment, sha), for
/// those decided before: the hold deadline counts from there. One query, answered from the
/// index on (service, environment, sha, created_at).
pub async fn first_seen(
    db: &Db,
    service: &str,
    shas: &[&Sha],
) -> Result<HashMap<(String, String), Timestamp>, sqlx::Error> {
    let shas: BTreeSet<&str> = shas.iter().map(|s| s.as_str()).collect();
    if shas.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (2..shas.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select environment, sha, min(created_at) as first from slo_gate_decision \
         where service = $1 and sha in ({}) group by environment, sha",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(service);
    for sha in shas {
        query = query.bind(sha);
    }
    let rows = query.fetch_all(db.reader()).await?;
    rows.iter()
        .map(|r| {
            let first = Timestamp::from_millisecond(r.try_get("first")?).map_err(|e| sqlx::Error::Decode(e.into()))?;
            Ok(((r.try_get("environment")?, r.try_get("sha")?), first))
        })
        .collect()
}

/// Which decisions to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub sha: Option<Sha>,
    /// Only those made at or after this instant.
    pub since: Option<Timestamp>,
}

/// Decisions matching `filter`, newest first, at most `limit`.
pub async fn list(db: &Db, filter: &Filter, limit: i64) -> Result<Vec<StoredDecision>, sqlx::Error> {
    // A sha given abbreviated matches the full one stored.
    let sha = filter.sha.as_ref().map(|s| format!("{}%", s.as_str()));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from {FROM} \
         where ($1 is null or d.service = $1) and ($2 is null or d.environment = $2) and ($3 is null or d.sha like $3) \
         and d.created_at >= $4 order by d.slo_gate_decision_id desc limit $5"
    )))
    .bind(filter.service.as_deref())
    .bind(filter.environment.as_deref())
    .bind(sha)
    .bind(filter.since.map_or(0, |t| t.as_millisecond()))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(db: &Db, id: i64) -> Result<Option<StoredDecision>, sqlx::Error> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from {FROM} where d.slo_gate_decision_id = $1")))
            .bind(id)
            .fetch_optional(db.writer())
            .await?;
    row.as_ref().map(from_row).transpose()
}
