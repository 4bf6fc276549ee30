# Masked database snapshots for QA (qa_database_tools = "export", production): written by the
# qa-db task after `fulfillment mask` ran on a scratch copy, read by QA's qa-db task. Nothing
# unmasked is ever written here. Objects expire after 30 days.

locals {
  create_snapshot_bucket = var.qa_database_tools == "export" && var.snapshot_bucket_name != null
}

resource "aws_s3_bucket" "snapshots" {
  # checkov:skip=CKV_AWS_144:Masked QA snapshots are disposable (regenerated on demand); no cross-region copy.
  # checkov:skip=CKV2_AWS_62:Nothing consumes events of new snapshots.
  # checkov:skip=CKV_AWS_18:Reads and writes are by two task roles only, recorded by CloudTrail; S3 server access logs add nothing here.
  count         = local.create_snapshot_bucket ? 1 : 0
  bucket        = var.snapshot_bucket_name
  force_destroy = false
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "snapshots" {
  count                   = local.create_snapshot_bucket ? 1 : 0
  bucket                  = aws_s3_bucket.snapshots[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "snapshots" {
  count  = local.create_snapshot_bucket ? 1 : 0
  bucket = aws_s3_bucket.snapshots[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "snapshots" {
  count  = local.create_snapshot_bucket ? 1 : 0
  bucket = aws_s3_bucket.snapshots[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.kura.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "snapshots" {
  count  = local.create_snapshot_bucket ? 1 : 0
  bucket = aws_s3_bucket.snapshots[0].id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = 30
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "snapshots" {
  count  = local.create_snapshot_bucket ? 1 : 0
  bucket = aws_s3_bucket.snapshots[0].id
  policy = data.aws_iam_policy_document.snapshots[0].json
}

data "aws_iam_policy_document" "snapshots" {
  count = local.create_snapshot_bucket ? 1 : 0
  dynamic "statement" {
    for_each = length(var.snapshot_reader_role_arns) > 0 ? [1] : []
    content {
      sid       = "QaReads"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.snapshots[0].arn}/masked/*"]
      principals {
        type        = "AWS"
        identifiers = var.snapshot_reader_role_arns
      }
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.snapshots[0].arn, "${aws_s3_bucket.snapshots[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
