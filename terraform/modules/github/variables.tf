variable "repository" {
  description = "Name of the repository (without the owner; the provider's owner is used)."
  type        = string
}

variable "environments" {
  description = <<-EOT
    GitHub environments to manage, by name. For each: reviewers (user and team ids that must approve
    a job, empty for none), prevent_self_review, protected_branches_only (deploy only from protected
    branches; false for per-branch QA previews), kura_protection_rule (the Kura App's custom
    deployment protection rule: the SLO controller approves or rejects the job), wait_timer
    (minutes), variables (Actions variables of the environment) and secrets (names of Actions
    secrets whose values come from environment_secret_values; absent values are left to be set
    with `gh secret set --env`).
  EOT
  type = map(object({
    reviewer_user_ids       = optional(list(number), [])
    reviewer_team_ids       = optional(list(number), [])
    prevent_self_review     = optional(bool, true)
    protected_branches_only = optional(bool, true)
    kura_protection_rule    = optional(bool, false)
    wait_timer              = optional(number, 0)
    can_admins_bypass       = optional(bool, false)
    variables               = optional(map(string), {})
  }))
}

variable "environment_secret_values" {
  description = "Values of environment secrets, as { environment = { NAME = value } } (e.g. SMOKE_TOKEN, SLO_API_TOKEN). Leave empty to set them with `gh secret set --env` instead, which keeps them out of the Terraform state."
  type        = map(map(string))
  default     = {}
  sensitive   = true
}

variable "kura_app_id" {
  description = "Id of the Kura GitHub App (the SLO controller's App: protection-rule decisions, statuses, check runs, workflow dispatch); 0 when there is none yet."
  type        = number
  default     = 0
}

variable "kura_app_installation_id" {
  description = "Installation id of the Kura App on the repository's owner; the App is installed on this repository when set (0: not managed here)."
  type        = number
  default     = 0
}

variable "manage_repository" {
  description = "Manage repository-wide settings (branch protection, repository variables, the webhook): true in exactly one environment's configuration, so two never fight over them."
  type        = bool
  default     = false
}

variable "default_branch" {
  description = "The branch that is protected and deployed from."
  type        = string
  default     = "main"
}

variable "required_checks" {
  description = "Status checks a pull request needs before merging: the CI jobs' names (.github/workflows/ci.yml) and the controller's slo-gate check run."
  type        = list(string)
  default = [
    "cargo fmt",
    "cargo clippy",
    "cargo test (SQLite and PostgreSQL)",
    "infra checks (actionlint, shellcheck, hadolint, promtool, amtool, HCL, checkov)",
    "secret scan (secretlint)",
    "coverage (cargo llvm-cov)",
    "slo-gate",
  ]
}

variable "require_signed_commits" {
  description = "Require signed commits on the default branch (every contributor then needs a signing key)."
  type        = bool
  default     = false
}

variable "required_approvals" {
  description = "Approving reviews a pull request needs."
  type        = number
  default     = 1
}

variable "repository_variables" {
  description = "Repository-wide Actions variables (e.g. AWS_REGION, AWS_BUILD_ROLE_ARN, ECR_REPOSITORY, COVERAGE_FLOOR, TF_STATE_BUCKET); only with manage_repository."
  type        = map(string)
  default     = {}
}

variable "controller_webhook_url" {
  description = "The SLO controller's GitHub webhook (https://slo.<domain>/webhooks/github). Set it for a controller that runs without the App (it then learns deployment statuses and workflow runs from a repository webhook); with the App, its webhook is configured in the App's settings and this stays null."
  type        = string
  default     = null
}

variable "controller_webhook_secret" {
  description = "Secret GitHub signs repository webhook deliveries with (X-Hub-Signature-256); the controller verifies it. Required with controller_webhook_url."
  type        = string
  default     = null
  sensitive   = true
}
