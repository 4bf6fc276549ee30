output "public_url" {
  description = "Base URL of the fulfillment API (the smoke test's target)."
  value       = "https://${var.domain_name}"
}

output "controller_url" {
  description = "Base URL of the SLO controller (API, dashboard; GitHub App webhook at /webhooks/github)."
  value       = "https://slo.${var.domain_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer: point domain_name and slo.domain_name at it (alias records)."
  value       = aws_lb.kura.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone id of the load balancer, for Route 53 alias records."
  value       = aws_lb.kura.zone_id
}

output "ecr_repository_url" {
  description = "The image repository the workflows push to and the tasks pull from."
  value       = local.image_repository
}

output "ecs_cluster" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.kura.name
}

output "fulfillment_service" {
  description = "Name of the fulfillment ECS service."
  value       = aws_ecs_service.fulfillment.name
}

output "controller_service" {
  description = "Name of the SLO controller ECS service."
  value       = aws_ecs_service.controller.name
}

output "fulfillment_task_family" {
  description = "Task definition family of the fulfillment service (deploys register revisions of it; one-off migrate and maintenance tasks run it)."
  value       = aws_ecs_task_definition.fulfillment.family
}

output "controller_task_family" {
  description = "Task definition family of the SLO controller."
  value       = aws_ecs_task_definition.controller.family
}

output "qa_db_task_family" {
  description = "Task definition family of the one-off qa-db task, or null when qa_database_tools is none."
  value       = try(aws_ecs_task_definition.qa_db[0].family, null)
}

output "qa_db_task_role_arn" {
  description = "Role of the qa-db task (give it to the production environment's snapshot_reader_role_arns), or null."
  value       = try(aws_iam_role.qa_db[0].arn, null)
}

output "private_subnet_ids" {
  description = "Private subnets of the tasks (one-off tasks run there too)."
  value       = aws_subnet.private[*].id
}

output "task_security_group_id" {
  description = "Security group of the fulfillment tasks, also used by one-off tasks (database and HTTPS egress)."
  value       = aws_security_group.fulfillment.id
}

output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.kura.id
}

output "https_listener_arn" {
  description = "The ALB's HTTPS listener (QA previews add host-based rules to it)."
  value       = aws_lb_listener.https.arn
}

output "execution_role_arn" {
  description = "The tasks' execution role (QA previews reuse it)."
  value       = aws_iam_role.execution.arn
}

output "fulfillment_task_role_arn" {
  description = "The fulfillment tasks' role (QA previews reuse it)."
  value       = aws_iam_role.fulfillment.arn
}

output "fulfillment_log_group" {
  description = "CloudWatch log group of the fulfillment tasks."
  value       = aws_cloudwatch_log_group.tasks["fulfillment"].name
}

output "database_endpoint" {
  description = "host:port of the PostgreSQL instance."
  value       = aws_db_instance.kura.endpoint
}

output "database_password_secret" {
  description = "ECS valueFrom of the RDS-managed master password (PGPASSWORD for tasks)."
  value       = local.db_password_secret
}

output "deploy_role_arn" {
  description = "Role the deploy, rollback and QA jobs assume through OIDC (GitHub environment variable AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.github_deploy.arn
}

output "build_role_arn" {
  description = "Role CI builds assume to push images (repository variable AWS_BUILD_ROLE_ARN), or null."
  value       = try(aws_iam_role.github_build[0].arn, null)
}

output "data_role_arn" {
  description = "Role of the production-data export job, or null."
  value       = try(aws_iam_role.github_data[0].arn, null)
}

output "prometheus_query_url" {
  description = "PromQL API of the Managed Prometheus workspace (SigV4-signed; the controller reaches it through its proxy sidecar)."
  value       = aws_prometheus_workspace.kura.prometheus_endpoint
}

output "alert_topic_arns" {
  description = "SNS topics ErrorBudgetBurn alerts go to, by severity (subscribe PagerDuty to page, the ticket queue to ticket)."
  value       = { for k, t in aws_sns_topic.alerts : k => t.arn }
}

output "controller_secret_arns" {
  description = "Secrets Manager ARNs of the controller's secrets, by variable name: set their values before the first deploy."
  value       = { for k, s in aws_secretsmanager_secret.controller : k => s.arn }
}

output "github_environment_variables" {
  description = "Variables the deploy workflows read from the GitHub environment (feed them to the github module)."
  value = {
    AWS_REGION              = local.region
    AWS_DEPLOY_ROLE_ARN     = aws_iam_role.github_deploy.arn
    ECR_REPOSITORY          = local.image_repository
    ECS_CLUSTER             = aws_ecs_cluster.kura.name
    ECS_SERVICE_FULFILLMENT = aws_ecs_service.fulfillment.name
    ECS_SERVICE_CONTROLLER  = aws_ecs_service.controller.name
    TASK_FAMILY_FULFILLMENT = aws_ecs_task_definition.fulfillment.family
    TASK_FAMILY_CONTROLLER  = aws_ecs_task_definition.controller.family
    TASK_FAMILY_QA_DB       = try(aws_ecs_task_definition.qa_db[0].family, "")
    TASK_SUBNETS            = join(",", aws_subnet.private[*].id)
    TASK_SECURITY_GROUPS    = aws_security_group.fulfillment.id
    PUBLIC_URL              = "https://${var.domain_name}"
    SLO_CONTROLLER_URL      = "https://slo.${var.domain_name}"
  }
}
