//! The parts of GitHub's webhook payloads the gate reads, deserialized leniently: real
//! deliveries carry more than the published schemas say, and every field not read here is
//! ignored. Shapes: <https://docs.github.com/en/webhooks/webhook-events-and-payloads>.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    /// `owner/name`.
    pub full_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Installation {
    pub id: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    #[serde(default)]
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
}

/// `deployment_protection_rule`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProtectionRule {
    pub action: String,
    pub environment: String,
    /// `…/repos/O/R/actions/runs/RUN_ID/deployment_protection_rule`.
    pub deployment_callback_url: String,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub deployment: Option<Deployment>,
    #[serde(default)]
    pub pull_requests: Vec<PullRequest>,
    pub repository: Repository,
    pub installation: Installation,
}

impl ProtectionRule {
    /// The commit: the top-level `sha` real deliveries carry, else the deployment's.
    pub fn sha(&self) -> Option<&str> {
        self.sha.as_deref().or(self.deployment.as_ref().map(|d| d.sha.as_str()))
    }

    pub fn git_ref(&self) -> Option<&str> {
        self.git_ref.as_deref().or(self.deployment.as_ref().and_then(|d| d.git_ref.as_deref()))
    }

    /// Every label of the pull requests the deploy comes from.
    pub fn labels(&self) -> Vec<String> {
        let mut labels: Vec<String> =
            self.pull_requests.iter().flat_map(|p| p.labels.iter().map(|l| l.name.clone())).collect();
        labels.sort();
        labels.dedup();
        labels
    }

    /// The callback URL's path (from `/repos/`): octocrab sends its token only to its own base
    /// URL, so the call goes to the configured base with this path.
    pub fn callback_path(&self) -> Option<&str> {
        self.deployment_callback_url.find("/repos/").map(|i| &self.deployment_callback_url[i..])
    }

    /// The run id in the callback URL (`…/runs/RUN_ID/…`), part of the review's dedup key.
    pub fn run_id(&self) -> Option<&str> {
        let path = self.callback_path()?;
        let after = path.split("/runs/").nth(1)?;
        after.split('/').next()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentStatusBody {
    pub state: String,
}

/// `deployment_status`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentStatus {
    pub deployment_status: DeploymentStatusBody,
    pub deployment: Deployment,
    pub repository: Repository,
    pub installation: Installation,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HeadCommit {
    pub id: String,
    #[serde(default)]
    pub message: String,
}

/// `push`.
#[derive(Debug, Clone, Deserialize)]
pub struct Push {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub after: String,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub head_commit: Option<HeadCommit>,
    pub repository: Repository,
    pub installation: Installation,
}

/// Commit trailers (`Key: value` lines of the message's last paragraph).
pub fn trailers(message: &str) -> Vec<String> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or("");
    let lines: Vec<&str> = last.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let is_trailer = |l: &&str| {
        l.split_once(':').is_some_and(|(k, v)| {
            !k.is_empty() && !v.trim().is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    };
    if message.contains("\n\n") && !lines.is_empty() && lines.iter().all(is_trailer) {
        lines.into_iter().map(str::to_owned).collect()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protection_rule_payload_reads_leniently_and_yields_its_callback_path_and_run() {
        let body = r#"{
          "action": "requested", "environment": "production", "event": "push",
          "sha": "0123456789abcdef0123456789abcdef01234567", "ref": "main",
          "deployment_callback_url": "https://api.github.com/repos/kura-dev/kura/actions/runs/1234/deployment_protection_rule",
          "deployment": {"id": 1, "sha": "0123456789abcdef0123456789abcdef01234567", "ref": "main", "environment": "production", "extra": 1},
          "pull_requests": [{"number": 7, "labels": [{"name": "hotfix"}]}],
          "repository": {"id": 1, "full_name": "kura-dev/kura", "name": "kura"},
          "installation": {"id": 42, "node_id": "x"}, "sender": {"login": "aiko"}, "unknown": true
        }"#;

        let p: ProtectionRule = serde_json::from_str(body).expect("a protection rule payload");

        assert_eq!(p.callback_path(), Some("/repos/kura-dev/kura/actions/runs/1234/deployment_protection_rule"));
        assert_eq!(p.run_id(), Some("1234"));
        assert_eq!(p.labels(), vec!["hotfix".to_owned()]);
        assert_eq!((p.sha(), p.git_ref()), (Some("0123456789abcdef0123456789abcdef01234567"), Some("main")));
    }

    #[test]
    fn trailers_are_the_last_paragraphs_key_value_lines() {
        assert_eq!(
            trailers("Fix the label printer\n\nIt jammed.\n\nKura-Exception: hotfix\nSigned-off-by: Aiko <a@k>\n"),
            vec!["Kura-Exception: hotfix".to_owned(), "Signed-off-by: Aiko <a@k>".to_owned()]
        );
        assert!(trailers("Subject: only a subject").is_empty());
        assert!(trailers("Subject\n\nA body line, not a trailer").is_empty());
    }
}
