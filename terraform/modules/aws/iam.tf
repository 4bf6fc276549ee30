# Least privilege: one execution role (pull the image, write logs, read exactly the secrets the
# task definitions name), one task role per workload, and GitHub OIDC roles that only the named
# GitHub environments' jobs can assume. No long-lived AWS keys anywhere.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

locals {
  repository_arn = var.create_ecr_repository ? aws_ecr_repository.kura[0].arn : "arn:${local.partition}:ecr:${split(".", local.image_repository)[3]}:${split(".", local.image_repository)[0]}:repository/${split("/", local.image_repository)[1]}"
  task_secret_arns = concat(
    [aws_db_instance.kura.master_user_secret[0].secret_arn],
    [for s in aws_secretsmanager_secret.controller : s.arn],
    [for s in aws_secretsmanager_secret.mask_key : s.arn],
    var.datadog_api_key_secret_arn == null ? [] : [var.datadog_api_key_secret_arn],
  )
}

data "aws_iam_policy_document" "execution" {
  # checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions; AWS requires "*" for it.
  # checkov:skip=CKV_AWS_111:Same statement: GetAuthorizationToken only issues a registry login; pulls are limited to the repository below.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "PullKura"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [local.repository_arn]
  }
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.tasks : "${g.arn}:*"]
  }
  statement {
    sid       = "ReadTaskSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.task_secret_arns
  }
  statement {
    sid       = "DecryptTaskSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.kura.arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- Task roles --------------------------------------------------------------------------------

resource "aws_iam_role" "fulfillment" {
  name               = "${var.name}-fulfillment"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

resource "aws_iam_role" "controller" {
  name               = "${var.name}-slo-controller"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "telemetry" {
  # checkov:skip=CKV_AWS_356:X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions; AWS requires "*".
  # checkov:skip=CKV_AWS_111:Same statement: the X-Ray write actions cannot be scoped to a resource.
  statement {
    sid       = "RemoteWriteMetrics"
    actions   = ["aps:RemoteWrite"]
    resources = [aws_prometheus_workspace.kura.arn]
  }
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "fulfillment_telemetry" {
  name   = "telemetry"
  role   = aws_iam_role.fulfillment.id
  policy = data.aws_iam_policy_document.telemetry.json
}

resource "aws_iam_role_policy" "controller_telemetry" {
  name   = "telemetry"
  role   = aws_iam_role.controller.id
  policy = data.aws_iam_policy_document.telemetry.json
}

data "aws_iam_policy_document" "controller_query" {
  statement {
    sid       = "QueryMetrics"
    actions   = ["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"]
    resources = [aws_prometheus_workspace.kura.arn]
  }
}

resource "aws_iam_role_policy" "controller_query" {
  name   = "query-metrics"
  role   = aws_iam_role.controller.id
  policy = data.aws_iam_policy_document.controller_query.json
}

resource "aws_iam_role" "qa_db" {
  count              = var.qa_database_tools == "none" ? 0 : 1
  name               = "${var.name}-qa-db"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "qa_db" {
  count = var.qa_database_tools == "none" || var.snapshot_bucket_name == null ? 0 : 1
  statement {
    sid       = var.qa_database_tools == "export" ? "WriteMaskedSnapshots" : "ReadMaskedSnapshots"
    actions   = var.qa_database_tools == "export" ? ["s3:PutObject"] : ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.snapshot_bucket_name}/masked/*"]
  }
  statement {
    sid       = "SnapshotKey"
    actions   = var.qa_database_tools == "export" ? ["kms:GenerateDataKey", "kms:Decrypt"] : ["kms:Decrypt"]
    resources = var.qa_database_tools == "export" ? [aws_kms_key.kura.arn] : ["arn:${local.partition}:kms:*:*:key/*"]
    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.*.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "qa_db" {
  count  = length(data.aws_iam_policy_document.qa_db)
  name   = "snapshots"
  role   = aws_iam_role.qa_db[0].id
  policy = data.aws_iam_policy_document.qa_db[0].json
}

# --- GitHub Actions (OIDC) ----------------------------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_github_oidc_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  tags           = local.tags
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1
  url   = "https://token.actions.githubusercontent.com"
}

locals {
  github_oidc_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  github_subjects = {
    deploy = [for e in var.github_environments : "repo:${var.github_repository}:environment:${e}"]
    data   = var.github_data_environment == null ? [] : ["repo:${var.github_repository}:environment:${var.github_data_environment}"]
    # Builds run without an environment: on branches (deploy, QA database) and pull requests (QA environments).
    build = ["repo:${var.github_repository}:ref:refs/heads/*", "repo:${var.github_repository}:pull_request"]
  }
}

data "aws_iam_policy_document" "github_assume" {
  for_each = { for k, v in local.github_subjects : k => v if length(v) > 0 }
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = each.value
    }
  }
}

resource "aws_iam_role" "github_deploy" {
  name                 = "${var.name}-github-deploy"
  description          = "Assumed by the deploy, rollback and QA workflows' jobs in the GitHub environments ${join(", ", var.github_environments)}"
  assume_role_policy   = data.aws_iam_policy_document.github_assume["deploy"].json
  max_session_duration = 7200
  tags                 = local.tags
}

locals {
  task_families = concat(
    [aws_ecs_task_definition.fulfillment.family, aws_ecs_task_definition.controller.family],
    [for t in aws_ecs_task_definition.qa_db : t.family],
  )
  task_roles = concat(
    [aws_iam_role.execution.arn, aws_iam_role.fulfillment.arn, aws_iam_role.controller.arn],
    [for r in aws_iam_role.qa_db : r.arn],
  )
}

data "aws_iam_policy_document" "github_deploy" {
  # checkov:skip=CKV_AWS_356:ecs:RegisterTaskDefinition, ecs:DescribeTaskDefinition and ecr:GetAuthorizationToken have no resource-level permissions; AWS requires "*" for them.
  # checkov:skip=CKV_AWS_111:Same statement: registering a task definition only records a document; running it is limited to this cluster, and passing roles to the listed task roles.
  statement {
    sid       = "TaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "Services"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${aws_ecs_cluster.kura.name}/*"]
  }
  statement {
    sid       = "OneOffTasks"
    actions   = ["ecs:RunTask"]
    resources = [for f in local.task_families : "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${f}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.kura.arn]
    }
  }
  statement {
    sid       = "WatchTasks"
    actions   = ["ecs:DescribeTasks", "ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.kura.name}/*"]
  }
  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = local.task_roles
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
  statement {
    sid       = "PullImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"]
    resources = [local.repository_arn]
  }
}

resource "aws_iam_role_policy" "github_deploy" {
  name   = "deploy"
  role   = aws_iam_role.github_deploy.id
  policy = data.aws_iam_policy_document.github_deploy.json
}

# QA previews: the qa-preview jobs also create and delete per-pull-request services, target
# groups and listener rules (terraform/envs/qa-preview), named preview-*, <name>-preview-* and <name>-pv-*.
data "aws_iam_policy_document" "github_preview" {
  count = var.enable_preview_environments ? 1 : 0
  # checkov:skip=CKV_AWS_356:elasticloadbalancing:Describe* and ecs:CreateService's target-group lookups have no resource-level permissions; "*" is limited to read-only describes.
  # checkov:skip=CKV_AWS_111:Writes are limited by name prefix (preview-, <name>-preview-, <name>-pv-) or by the cluster; only describes use "*".
  statement {
    sid       = "Describe"
    actions   = ["elasticloadbalancing:Describe*", "ecs:DescribeClusters", "ecs:ListTagsForResource", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"]
    resources = ["*"]
  }
  statement {
    sid = "PreviewLoadBalancing"
    actions = ["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:AddTags", "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:RemoveTags"]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:targetgroup/${var.name}-pv-*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:listener-rule/app/${aws_lb.kura.name}/*",
      aws_lb_listener.https.arn,
    ]
  }
  statement {
    sid       = "PreviewServices"
    actions   = ["ecs:CreateService", "ecs:DeleteService", "ecs:UpdateService", "ecs:DescribeServices", "ecs:DeregisterTaskDefinition"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${aws_ecs_cluster.kura.name}/preview-*", "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${var.name}-preview-*:*"]
  }
  statement {
    sid       = "PreviewState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${coalesce(var.terraform_state_bucket, "-")}/qa-preview/*"]
  }
  statement {
    sid       = "ReadQaState"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${coalesce(var.terraform_state_bucket, "-")}/qa.tfstate"]
  }
  statement {
    sid       = "ListPreviewState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${coalesce(var.terraform_state_bucket, "-")}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["qa-preview/*", "qa.tfstate"]
    }
  }
}

resource "aws_iam_role_policy" "github_preview" {
  count  = var.enable_preview_environments ? 1 : 0
  name   = "qa-previews"
  role   = aws_iam_role.github_deploy.id
  policy = data.aws_iam_policy_document.github_preview[0].json
}

resource "aws_iam_role" "github_build" {
  count                = var.create_build_role ? 1 : 0
  name                 = "${var.name}-github-build"
  description          = "Assumed by CI builds to push images to the kura repository"
  assume_role_policy   = data.aws_iam_policy_document.github_assume["build"].json
  max_session_duration = 3600
  tags                 = local.tags
}

data "aws_iam_policy_document" "github_build" {
  count = var.create_build_role ? 1 : 0
  # checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions; AWS requires "*" for it.
  # checkov:skip=CKV_AWS_111:Same statement; pushes are limited to the kura repository.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid = "PushKura"
    actions = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
    resources = [local.repository_arn]
  }
  statement {
    sid       = "ImageKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.kura.arn]
  }
}

resource "aws_iam_role_policy" "github_build" {
  count  = var.create_build_role ? 1 : 0
  name   = "push-images"
  role   = aws_iam_role.github_build[0].id
  policy = data.aws_iam_policy_document.github_build[0].json
}

# The production-data job (a masked QA snapshot): run the qa-db task, nothing else.
resource "aws_iam_role" "github_data" {
  count              = var.github_data_environment == null ? 0 : 1
  name               = "${var.name}-github-data"
  description        = "Assumed by the QA database workflow's export job in the ${coalesce(var.github_data_environment, "-")} GitHub environment"
  assume_role_policy = data.aws_iam_policy_document.github_assume["data"].json
  tags               = local.tags
}

data "aws_iam_policy_document" "github_data" {
  count = var.github_data_environment == null || var.qa_database_tools != "export" ? 0 : 1
  # checkov:skip=CKV_AWS_356:ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition have no resource-level permissions.
  # checkov:skip=CKV_AWS_111:Same statement: registering only records a document; running is limited to the qa-db family on this cluster.
  statement {
    sid       = "TaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }
  statement {
    sid       = "RunExport"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${var.name}-qa-db:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.kura.arn]
    }
  }
  statement {
    sid       = "WatchTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.kura.name}/*"]
  }
  statement {
    sid       = "PassQaDbRoles"
    actions   = ["iam:PassRole"]
    resources = concat([aws_iam_role.execution.arn], [for r in aws_iam_role.qa_db : r.arn])
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "github_data" {
  count  = length(data.aws_iam_policy_document.github_data)
  name   = "export-masked-snapshot"
  role   = aws_iam_role.github_data[0].id
  policy = data.aws_iam_policy_document.github_data[0].json
}
