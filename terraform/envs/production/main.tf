# Production: the aws module at full strength (multi-AZ database, a NAT gateway per AZ, two
# controller replicas, an autoscaled service), the image repository and the build role, the
# repository-wide GitHub settings, the production and production-data environments, and, for
# teams on Datadog, the SLOs and monitors generated from the same specs.

module "aws" {
  source = "../../modules/aws"

  name               = "kura-production"
  environment        = "production"
  availability_zones = var.availability_zones
  nat_gateway_per_az = true
  domain_name        = var.domain_name
  certificate_arn    = var.certificate_arn

  create_ecr_repository = true
  ecr_pull_account_ids  = var.qa_account_id == null ? [] : [var.qa_account_id]
  create_build_role     = true

  fulfillment_min_tasks = 3
  fulfillment_max_tasks = 20
  controller_replicas   = 2
  controller_env = {
    SLO_INTERVAL = "30s"
  }

  db_instance_class        = "db.m7g.large"
  db_multi_az              = true
  db_backup_retention_days = 30
  db_deletion_protection   = true

  prometheus_rules_file      = var.prometheus_rules_file
  datadog_api_key_secret_arn = var.enable_datadog ? var.datadog_api_key_secret_arn : null

  github_repository           = "${var.github_owner}/${var.github_repository}"
  create_github_oidc_provider = true
  github_environments         = ["production"]
  github_data_environment     = "production-data"

  qa_database_tools         = "export"
  snapshot_bucket_name      = var.snapshot_bucket_name
  snapshot_reader_role_arns = var.qa_db_task_role_arn == null ? [] : [var.qa_db_task_role_arn]
  terraform_state_bucket    = var.terraform_state_bucket
}

module "github" {
  source = "../../modules/github"

  repository               = var.github_repository
  manage_repository        = true
  kura_app_id              = var.kura_app_id
  kura_app_installation_id = var.kura_app_installation_id

  environments = {
    production = {
      reviewer_team_ids       = var.deploy_reviewer_team_ids
      protected_branches_only = true
      kura_protection_rule    = true
      variables = merge(module.aws.github_environment_variables, {
        KURA_SERVICE = "fulfillment"
      })
    }
    production-data = {
      reviewer_team_ids       = var.data_reviewer_team_ids
      protected_branches_only = true
      variables = {
        AWS_REGION           = var.aws_region
        AWS_DEPLOY_ROLE_ARN  = coalesce(module.aws.data_role_arn, "-")
        ECS_CLUSTER          = module.aws.ecs_cluster
        TASK_FAMILY_QA_DB    = coalesce(module.aws.qa_db_task_family, "-")
        TASK_SUBNETS         = join(",", module.aws.private_subnet_ids)
        TASK_SECURITY_GROUPS = module.aws.task_security_group_id
        QA_SNAPSHOT_PREFIX   = "s3://${var.snapshot_bucket_name}/masked"
      }
    }
  }

  repository_variables = {
    AWS_REGION         = var.aws_region
    AWS_BUILD_ROLE_ARN = coalesce(module.aws.build_role_arn, "-")
    ECR_REPOSITORY     = module.aws.ecr_repository_url
    COVERAGE_FLOOR     = tostring(var.coverage_floor)
    TF_STATE_BUCKET    = var.terraform_state_bucket
  }
}

module "datadog" {
  source = "../../modules/datadog"
  count  = var.enable_datadog ? 1 : 0

  notify_page   = var.datadog_notify_page
  notify_ticket = var.datadog_notify_ticket
}
