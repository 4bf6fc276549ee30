# One Secrets Manager secret per controller secret variable, encrypted with the environment's
# key. Terraform creates them empty: values are set out of band (`aws secretsmanager
# put-secret-value`), so no secret value is ever in Terraform's state or in this repository.

resource "aws_secretsmanager_secret" "controller" {
  # checkov:skip=CKV2_AWS_57:These are third-party credentials (PagerDuty, Slack, GitHub App, webhook keys) that the issuer rotates; no Lambda can rotate them. The database password is RDS-managed and rotated by RDS.
  for_each                = var.controller_secrets
  name                    = "${var.name}/slo-controller/${each.key}"
  description             = "${each.key} of the SLO controller (${var.environment})"
  kms_key_id              = aws_kms_key.kura.arn
  recovery_window_in_days = 30
  tags                    = local.tags
}

# The key `fulfillment mask` masks QA copies with (FULFILLMENT_MASK_KEY): the same value always
# masks to the same fake under it, so it is a secret of its own, shared by the environments that
# export and import masked snapshots. Empty at creation, like the others.
resource "aws_secretsmanager_secret" "mask_key" {
  # checkov:skip=CKV2_AWS_57:Rotating the masking key would change every fake between snapshots and break reproductions across them; it is rotated by hand, with a fresh snapshot.
  count                   = var.qa_database_tools == "none" ? 0 : 1
  name                    = "${var.name}/qa-db/mask-key"
  description             = "The key fulfillment mask uses for QA copies (${var.environment})"
  kms_key_id              = aws_kms_key.kura.arn
  recovery_window_in_days = 30
  tags                    = local.tags
}
