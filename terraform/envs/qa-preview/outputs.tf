output "url" {
  description = "The preview's address (posted to the pull request)."
  value       = "https://${local.host}"
}

output "database" {
  description = "The preview's database on the QA PostgreSQL."
  value       = local.database
}
