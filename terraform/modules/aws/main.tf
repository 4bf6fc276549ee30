# Kura on AWS: the fulfillment service (autoscaled) and the SLO controller (two replicas,
# active/standby on a PostgreSQL advisory lock) on ECS Fargate, PostgreSQL on RDS, one public
# ALB (API, and the controller's API, dashboard and GitHub webhook on slo.<domain>), metrics in
# Amazon Managed Prometheus with the generated SLO rules, traces in X-Ray, secrets in Secrets
# Manager. Admin listeners (9464, 9465) are reachable from the ALB's health checks and inside the
# tasks only; no listener forwards to them.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition
  tags       = merge({ "kura:environment" = var.environment }, var.tags)

  image_repository = var.create_ecr_repository ? aws_ecr_repository.kura[0].repository_url : var.ecr_repository_url
  bootstrap_image  = "${local.image_repository}:${var.bootstrap_image_tag}"

  # Ports of the binaries (the image's defaults; see infra/docker/Dockerfile).
  fulfillment_port       = 8080
  fulfillment_admin_port = 9464
  controller_port        = 8090
  controller_admin_port  = 9465

  service_discovery_name = "${var.name}.internal"
  maintenance_url        = "http://fulfillment.${local.service_discovery_name}:${local.fulfillment_admin_port}/maintenance"
}

# A key for everything this environment encrypts: logs, secrets, the database, images, topics
# and Prometheus data. Rotated yearly.
resource "aws_kms_key" "kura" {
  description             = "${var.name}: logs, secrets, database, images, topics"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "kura" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.kura.key_id
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:The account root statement is the standard key policy that delegates key use to IAM policies; without it the key becomes unmanageable.
  # checkov:skip=CKV_AWS_111:Same statement: a key policy's resource is always the key itself ("*" means this key).
  # checkov:skip=CKV_AWS_356:Same statement: in a key policy "*" is the key the policy is attached to.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "ServicesEncrypt"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com", "sns.amazonaws.com", "aps.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
