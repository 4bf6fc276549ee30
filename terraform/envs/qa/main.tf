# QA: the same modules as production, smaller and cheaper (a single-AZ database, one NAT
# gateway, one to three service tasks), pulling production's images; the qa and qa-preview
# GitHub environments; QA databases from demo data or masked snapshots; per-pull-request
# previews (envs/qa-preview) on its cluster and load balancer.

module "aws" {
  source = "../../modules/aws"

  name               = "kura-qa"
  environment        = "qa"
  availability_zones = var.availability_zones
  nat_gateway_per_az = false
  domain_name        = var.domain_name
  certificate_arn    = var.certificate_arn

  create_ecr_repository = false
  ecr_repository_url    = var.ecr_repository_url

  fulfillment_min_tasks = 1
  fulfillment_max_tasks = 3
  # Two replicas in QA too: the leader lock and failover are exercised before production.
  controller_replicas = 2

  db_instance_class        = "db.t4g.medium"
  db_multi_az              = false
  db_backup_retention_days = 7
  db_deletion_protection   = false

  github_repository           = "${var.github_owner}/${var.github_repository}"
  create_github_oidc_provider = !var.shares_account_with_production
  github_environments         = ["qa", "qa-preview"]

  qa_database_tools           = "import"
  snapshot_bucket_name        = var.snapshot_bucket_name
  enable_preview_environments = true
  terraform_state_bucket      = var.terraform_state_bucket
}

module "github" {
  source = "../../modules/github"

  repository  = var.github_repository
  kura_app_id = var.kura_app_id

  environments = {
    qa = {
      protected_branches_only = true
      # QA gates too, in shadow mode if the policy says so: developers see the decision early.
      kura_protection_rule = true
      variables = merge(module.aws.github_environment_variables, {
        KURA_SERVICE = "fulfillment"
      })
    }
    qa-preview = {
      # Any branch's pull request gets a preview; nothing to approve.
      protected_branches_only = false
      prevent_self_review     = false
      variables = merge(module.aws.github_environment_variables, {
        QA_STATE_KEY       = "qa.tfstate"
        QA_PREVIEW_DOMAIN  = var.qa_preview_domain
        QA_SNAPSHOT_LATEST = ""
        TF_STATE_BUCKET    = var.terraform_state_bucket
        PUBLIC_URL         = "https://${var.domain_name}"
        SLO_CONTROLLER_URL = "https://slo.${var.domain_name}"
        KURA_SERVICE       = "fulfillment"
      })
    }
  }
}
