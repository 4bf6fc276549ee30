output "public_url" {
  description = "The QA API."
  value       = module.aws.public_url
}

output "controller_url" {
  description = "The QA SLO controller."
  value       = module.aws.controller_url
}

output "alb_dns_name" {
  description = "Point the QA names (and the preview wildcard) at this load balancer."
  value       = module.aws.alb_dns_name
}

output "qa_db_task_role_arn" {
  description = "QA's qa-db task role: give it to production's qa_db_task_role_arn so it may read masked snapshots."
  value       = module.aws.qa_db_task_role_arn
}

output "preview" {
  description = "What envs/qa-preview reads from this state to add per-pull-request environments."
  value = {
    cluster            = module.aws.ecs_cluster
    vpc_id             = module.aws.vpc_id
    https_listener_arn = module.aws.https_listener_arn
    private_subnet_ids = module.aws.private_subnet_ids
    security_group_id  = module.aws.task_security_group_id
    execution_role_arn = module.aws.execution_role_arn
    task_role_arn      = module.aws.fulfillment_task_role_arn
    log_group          = module.aws.fulfillment_log_group
    image_repository   = module.aws.ecr_repository_url
    database_endpoint  = module.aws.database_endpoint
    database_password  = module.aws.database_password_secret
    preview_domain     = var.qa_preview_domain
    name_prefix        = "kura-qa"
  }
}
