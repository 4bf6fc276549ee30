# The repository's delivery settings as code: GitHub environments (required reviewers, the Kura
# App's deployment protection rule, their Actions variables and secrets), branch protection
# requiring CI and the slo-gate check, repository variables, the Kura App's installation and,
# for controllers without the App, a repository webhook.

locals {
  # "environment/NAME" of each secret value given: the names are not secret, the values stay so.
  secret_keys = nonsensitive(toset(flatten([
    for env, secrets in var.environment_secret_values : [for name in keys(secrets) : "${env}/${name}"]
  ])))
  environment_variables = {
    for pair in flatten([
      for env, cfg in var.environments : [for name, value in cfg.variables : { env = env, name = name, value = value }]
    ]) : "${pair.env}/${pair.name}" => pair
  }
}

resource "github_repository_environment" "this" {
  for_each            = var.environments
  repository          = var.repository
  environment         = each.key
  wait_timer          = each.value.wait_timer
  can_admins_bypass   = each.value.can_admins_bypass
  prevent_self_review = each.value.prevent_self_review

  dynamic "reviewers" {
    for_each = length(each.value.reviewer_user_ids) + length(each.value.reviewer_team_ids) > 0 ? [1] : []
    content {
      users = each.value.reviewer_user_ids
      teams = each.value.reviewer_team_ids
    }
  }

  dynamic "deployment_branch_policy" {
    for_each = each.value.protected_branches_only ? [1] : []
    content {
      protected_branches     = true
      custom_branch_policies = false
    }
  }
}

# The Kura App's custom deployment protection rule: GitHub asks the SLO controller before a job
# in the environment starts, and the controller approves or rejects it with its reasons.
# The GitHub provider has no resource for custom protection rules yet
# (integrations/terraform-provider-github#2225), so this calls the REST API
# (POST /repos/{owner}/{repo}/environments/{env}/deployment_protection_rules) through `gh`,
# idempotently, and removes the rule on destroy. It needs `gh` and GH_TOKEN where Terraform runs.
# Custom rules need a public repository or GitHub Enterprise; elsewhere rely on `slo gate` in the
# workflow (deploy.yml runs it either way).
resource "terraform_data" "kura_protection_rule" {
  for_each = { for env, cfg in var.environments : env => cfg if cfg.kura_protection_rule && var.kura_app_id != 0 }

  input = {
    repository  = var.repository
    environment = github_repository_environment.this[each.key].environment
    app_id      = var.kura_app_id
    script      = "${path.module}/scripts/protection-rule.sh"
  }

  provisioner "local-exec" {
    command = "bash ${self.input.script} enable ${self.input.repository} ${self.input.environment} ${self.input.app_id}"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "bash ${self.input.script} disable ${self.input.repository} ${self.input.environment} ${self.input.app_id}"
  }
}

resource "github_actions_environment_variable" "this" {
  for_each      = local.environment_variables
  repository    = var.repository
  environment   = github_repository_environment.this[each.value.env].environment
  variable_name = each.value.name
  value         = each.value.value
}

resource "github_actions_environment_secret" "this" {
  # checkov:skip=CKV_GIT_4:Values come from a sensitive variable and are encrypted with the repository's public key by the provider before they are sent; the recommended path (documented) leaves the variable empty and sets secrets with `gh secret set --env`, so none is in the state.
  for_each        = local.secret_keys
  repository      = var.repository
  environment     = github_repository_environment.this[split("/", each.key)[0]].environment
  secret_name     = split("/", each.key)[1]
  plaintext_value = var.environment_secret_values[split("/", each.key)[0]][split("/", each.key)[1]]
}

resource "github_app_installation_repository" "kura" {
  count           = var.manage_repository && var.kura_app_installation_id != 0 ? 1 : 0
  installation_id = tostring(var.kura_app_installation_id)
  repository      = var.repository
}

resource "github_branch_protection" "default" {
  # checkov:skip=CKV_GIT_5:The approvals are the variable required_approvals (default 1): CI, code owners and the SLO gate also guard the branch; larger teams set 2.
  # checkov:skip=CKV_GIT_6:Signed commits are the variable require_signed_commits (default false): pull requests are merged by GitHub, which signs the merge; requiring every contributor to sign is the team's call.
  count                           = var.manage_repository ? 1 : 0
  repository_id                   = var.repository
  pattern                         = var.default_branch
  enforce_admins                  = true
  require_signed_commits          = var.require_signed_commits
  required_linear_history         = true
  require_conversation_resolution = true
  allows_deletions                = false
  allows_force_pushes             = false

  required_status_checks {
    strict   = true
    contexts = var.required_checks
  }

  required_pull_request_reviews {
    required_approving_review_count = var.required_approvals
    dismiss_stale_reviews           = true
    require_code_owner_reviews      = true
    require_last_push_approval      = true
  }
}

resource "github_actions_variable" "this" {
  for_each      = var.manage_repository ? var.repository_variables : {}
  repository    = var.repository
  variable_name = each.key
  value         = each.value
}

resource "github_repository_webhook" "controller" {
  count      = var.manage_repository && var.controller_webhook_url != null ? 1 : 0
  repository = var.repository
  active     = true
  events     = ["deployment", "deployment_status", "workflow_run", "check_suite", "push"]

  configuration {
    url          = var.controller_webhook_url
    content_type = "json"
    secret       = var.controller_webhook_secret
    insecure_ssl = false
  }
}
