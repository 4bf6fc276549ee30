# The image repository: one image per commit sha, tags immutable (a sha is built once; a
# redeploy or rollback reuses it), scanned on push, encrypted with the environment's key.

resource "aws_ecr_repository" "kura" {
  count                = var.create_ecr_repository ? 1 : 0
  name                 = "kura"
  image_tag_mutability = "IMMUTABLE"
  tags                 = local.tags

  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.kura.arn
  }
}

resource "aws_ecr_lifecycle_policy" "kura" {
  count      = var.create_ecr_repository ? 1 : 0
  repository = aws_ecr_repository.kura[0].name
  policy = jsonencode({ rules = [{
    rulePriority = 1
    description  = "Keep the last 500 images: enough to roll back months"
    selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 500 }
    action       = { type = "expire" }
  }] })
}

resource "aws_ecr_repository_policy" "kura" {
  count      = var.create_ecr_repository && length(var.ecr_pull_account_ids) > 0 ? 1 : 0
  repository = aws_ecr_repository.kura[0].name
  policy     = data.aws_iam_policy_document.ecr_pull[0].json
}

data "aws_iam_policy_document" "ecr_pull" {
  count = var.create_ecr_repository && length(var.ecr_pull_account_ids) > 0 ? 1 : 0
  statement {
    sid     = "OtherEnvironmentsPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"]
    principals {
      type        = "AWS"
      identifiers = [for id in var.ecr_pull_account_ids : "arn:${local.partition}:iam::${id}:root"]
    }
  }
}
