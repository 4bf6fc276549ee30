output "environments" {
  description = "Names of the GitHub environments managed here."
  value       = [for e in github_repository_environment.this : e.environment]
}

output "protection_rule_environments" {
  description = "Environments where the Kura App's deployment protection rule is enabled."
  value       = keys(terraform_data.kura_protection_rule)
}
