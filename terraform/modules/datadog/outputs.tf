output "generated_module" {
  description = "Path of the generated module this instantiates (regenerate with infra/deploy/datadog-generate.sh)."
  value       = "${path.module}/generated"
}
