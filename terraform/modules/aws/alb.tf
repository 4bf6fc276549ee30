# One public ALB. api: the fulfillment API (default action). slo.<domain>: the controller's
# GitHub webhook (from anywhere: deliveries are signed) and its API and dashboard (from
# controller_allowed_cidrs). Health checks hit /readyz on the admin listeners, which no listener
# forwards to: the admin port is not exposed publicly.

resource "aws_lb" "kura" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = true # an environment is torn down on purpose: disable it first
  idle_timeout               = 60
  tags                       = local.tags

  access_logs {
    bucket  = aws_s3_bucket.alb_logs.id
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "fulfillment" {
  # checkov:skip=CKV_AWS_378:TLS terminates at the ALB; from there to the tasks traffic stays in the private subnets, allowed by security group only from the ALB. The binaries serve plain HTTP behind a load balancer.
  name                 = "${var.name}-api"
  port                 = local.fulfillment_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.kura.id
  deregistration_delay = 30 # the service drains for 25 s after SIGTERM
  tags                 = local.tags

  health_check {
    path                = "/readyz"
    port                = tostring(local.fulfillment_admin_port)
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_target_group" "controller" {
  # checkov:skip=CKV_AWS_378:TLS terminates at the ALB; from there to the tasks traffic stays in the private subnets, allowed by security group only from the ALB. The binaries serve plain HTTP behind a load balancer.
  name                 = "${var.name}-slo"
  port                 = local.controller_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.kura.id
  deregistration_delay = 15
  tags                 = local.tags

  health_check {
    path                = "/readyz"
    port                = tostring(local.controller_admin_port)
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.kura.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  tags              = local.tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.fulfillment.arn
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.kura.arn
  port              = 80
  protocol          = "HTTP"
  tags              = local.tags

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener_rule" "controller_webhook" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10
  tags         = local.tags

  condition {
    host_header {
      values = ["slo.${var.domain_name}"]
    }
  }
  condition {
    path_pattern {
      values = ["/webhooks/github"]
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.controller.arn
  }
}

resource "aws_lb_listener_rule" "controller" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 20
  tags         = local.tags

  condition {
    host_header {
      values = ["slo.${var.domain_name}"]
    }
  }
  condition {
    source_ip {
      values = var.controller_allowed_cidrs
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.controller.arn
  }
}

# slo.<domain> from elsewhere: refused rather than sent to the fulfillment API.
resource "aws_lb_listener_rule" "controller_refused" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 30
  tags         = local.tags

  condition {
    host_header {
      values = ["slo.${var.domain_name}"]
    }
  }
  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "Forbidden"
      status_code  = "403"
    }
  }
}

# --- WAF: AWS managed rules in front of everything ------------------------------------------

resource "aws_wafv2_web_acl" "kura" {
  name  = var.name
  scope = "REGIONAL"
  tags  = local.tags

  default_action {
    allow {}
  }

  rule {
    name     = "common"
    priority = 10
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        # Channel webhooks and shipment payloads are legitimately larger than 8 KB.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-common"
      sampled_requests_enabled   = true
    }
  }

  # Anonymising proxies and Tor are blocked; hosting providers only counted: GitHub's webhook
  # deliveries and Actions runners, and the EC channels' webhooks, come from clouds.
  rule {
    name     = "anonymous-ip"
    priority = 15
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"
        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-anonymous-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "known-bad-inputs"
    priority = 20
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "kura" {
  resource_arn = aws_lb.kura.arn
  web_acl_arn  = aws_wafv2_web_acl.kura.arn
}

resource "aws_cloudwatch_log_group" "waf" {
  # WAF requires the aws-waf-logs- prefix.
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.kura.arn
  tags              = local.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "kura" {
  resource_arn            = aws_wafv2_web_acl.kura.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  # Bearer tokens and channel signatures never reach the logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
  redacted_fields {
    single_header {
      name = "x-shopify-hmac-sha256"
    }
  }
  redacted_fields {
    single_header {
      name = "x-hub-signature-256"
    }
  }
}

# --- ALB access logs -------------------------------------------------------------------------

resource "aws_s3_bucket" "alb_logs" {
  # checkov:skip=CKV_AWS_144:Access logs are not replicated to another region; losing a region's ALB loses its logs too, which is acceptable for access logs.
  # checkov:skip=CKV2_AWS_62:Nothing consumes events of new log objects.
  # checkov:skip=CKV_AWS_18:This is the access-log bucket; logging it into itself would loop.
  # checkov:skip=CKV_AWS_145:ALB access logs support only SSE-S3 (AES256), not a customer-managed KMS key.
  bucket_prefix = "${var.name}-alb-logs-"
  force_destroy = false
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "alb_logs" {
  bucket                  = aws_s3_bucket.alb_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id
  policy = data.aws_iam_policy_document.alb_logs.json
}

data "aws_iam_policy_document" "alb_logs" {
  statement {
    sid       = "AlbWritesLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.alb_logs.arn}/alb/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.alb_logs.arn, "${aws_s3_bucket.alb_logs.arn}/*"]
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
