# Metrics: Amazon Managed Service for Prometheus. The sidecar collectors remote-write both
# binaries' admin-listener metrics into it; the rules `slo generate prometheus` wrote are loaded
# as a rule group namespace; its alert manager routes ErrorBudgetBurn by severity to two SNS
# topics (page, ticket), tickets inhibited while the same SLO pages, as
# infra/alertmanager/alertmanager.yml does. The controller reads SLIs from the workspace.
#
# Exemplars: Managed Prometheus stores the exemplars the collectors send; a self-hosted
# Prometheus needs --enable-feature=exemplar-storage (infra/prometheus/prometheus.yml).

resource "aws_prometheus_workspace" "kura" {
  alias       = var.name
  kms_key_arn = aws_kms_key.kura.arn
  tags        = local.tags

  logging_configuration {
    log_group_arn = "${aws_cloudwatch_log_group.prometheus.arn}:*"
  }
}

resource "aws_cloudwatch_log_group" "prometheus" {
  name              = "/kura/${var.name}/prometheus"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.kura.arn
  tags              = local.tags
}

resource "aws_prometheus_rule_group_namespace" "slos" {
  count        = var.prometheus_rules_file == null ? 0 : 1
  name         = "kura-slos"
  workspace_id = aws_prometheus_workspace.kura.id
  data         = file(var.prometheus_rules_file)
  tags         = local.tags
}

resource "aws_sns_topic" "alerts" {
  for_each          = toset(["page", "ticket"])
  name              = "${var.name}-slo-${each.key}"
  kms_master_key_id = aws_kms_key.kura.arn
  tags              = local.tags
}

data "aws_iam_policy_document" "alerts" {
  for_each = aws_sns_topic.alerts
  statement {
    sid       = "ManagedPrometheusPublishes"
    actions   = ["sns:Publish", "sns:GetTopicAttributes"]
    resources = [each.value.arn]
    principals {
      type        = "Service"
      identifiers = ["aps.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_prometheus_workspace.kura.arn]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  for_each = aws_sns_topic.alerts
  arn      = each.value.arn
  policy   = data.aws_iam_policy_document.alerts[each.key].json
}

resource "aws_prometheus_alert_manager_definition" "kura" {
  workspace_id = aws_prometheus_workspace.kura.id
  definition = yamlencode({
    alertmanager_config = yamlencode({
      route = {
        receiver        = "ticket"
        group_by        = ["alertname", "service", "slo", "severity"]
        group_wait      = "30s"
        group_interval  = "5m"
        repeat_interval = "12h"
        routes = [
          { matchers = ["severity=\"page\""], receiver = "page", group_wait = "10s", group_interval = "1m", repeat_interval = "1h" },
          { matchers = ["severity=\"ticket\""], receiver = "ticket", group_wait = "5m", group_interval = "30m", repeat_interval = "24h" },
        ]
      }
      inhibit_rules = [{
        source_matchers = ["severity=\"page\""]
        target_matchers = ["severity=\"ticket\""]
        equal           = ["service", "slo"]
      }]
      receivers = [for severity, topic in aws_sns_topic.alerts : {
        name = severity
        sns_configs = [{
          topic_arn     = topic.arn
          sigv4         = { region = local.region }
          send_resolved = true
          subject       = "[${upper(severity)}] {{ .CommonLabels.service }}/{{ .CommonLabels.slo }}"
          attributes    = { severity = severity }
        }]
      }]
    })
  })
}
