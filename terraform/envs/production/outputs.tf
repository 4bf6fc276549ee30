output "public_url" {
  description = "The production API."
  value       = module.aws.public_url
}

output "controller_url" {
  description = "The production SLO controller (dashboard, API; the Kura App's webhook URL is <this>/webhooks/github)."
  value       = module.aws.controller_url
}

output "alb_dns_name" {
  description = "Point the DNS names at this load balancer."
  value       = module.aws.alb_dns_name
}

output "controller_secret_arns" {
  description = "Secrets to fill before the first deploy (aws secretsmanager put-secret-value)."
  value       = module.aws.controller_secret_arns
}

output "alert_topic_arns" {
  description = "SNS topics of page and ticket alerts from Managed Prometheus; subscribe the on-call tools."
  value       = module.aws.alert_topic_arns
}

output "ecr_repository_url" {
  description = "Image repository (QA's ecr_repository_url)."
  value       = module.aws.ecr_repository_url
}
