# One QA preview: a single fulfillment task (service preview-<name>) on the QA cluster, behind
# the QA load balancer at https://<name>.<preview domain>, with its own database qa_<name> on the
# QA PostgreSQL (created by the workflow with infra/deploy/qa-db.sh before this is applied).
# Everything else (network, roles, logs, the database server) is QA's, read from its state.

data "terraform_remote_state" "qa" {
  backend = "s3"
  config = {
    bucket = var.qa_state_bucket
    key    = var.qa_state_key
    region = var.aws_region
  }
}

locals {
  qa       = data.terraform_remote_state.qa.outputs.preview
  host     = "${var.name}.${local.qa.preview_domain}"
  database = "qa_${replace(var.name, "-", "_")}"
  # Target group names are at most 32 characters: a stable hash of the preview name.
  target_group_name = "${local.qa.name_prefix}-pv-${substr(sha1(var.name), 0, 12)}"
}

resource "aws_lb_target_group" "preview" {
  # checkov:skip=CKV_AWS_378:TLS terminates at the QA ALB; the hop to the task stays in QA's private subnets (see modules/aws/alb.tf).
  name                 = local.target_group_name
  port                 = 8080
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = local.qa.vpc_id
  deregistration_delay = 5

  health_check {
    path    = "/readyz"
    port    = "9464"
    matcher = "200"
  }
}

resource "aws_lb_listener_rule" "preview" {
  listener_arn = local.qa.https_listener_arn
  priority     = var.listener_rule_priority

  condition {
    host_header {
      values = [local.host]
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.preview.arn
  }
}

resource "aws_ecs_task_definition" "preview" {
  # checkov:skip=CKV_AWS_249:The two roles are different (QA's execution role and its fulfillment task role, outputs of the QA state); checkov cannot read remote state to see it.
  family                   = "${local.qa.name_prefix}-preview-${var.name}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = local.qa.execution_role_arn
  task_role_arn            = local.qa.task_role_arn

  container_definitions = jsonencode([{
    name                   = "fulfillment"
    image                  = var.image
    essential              = true
    command                = ["fulfillment", "serve"]
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    portMappings = [
      { containerPort = 8080, protocol = "tcp" },
      { containerPort = 9464, protocol = "tcp" },
    ]
    environment = [
      { name = "DATABASE_URL", value = "postgres://kura@${local.qa.database_endpoint}/${local.database}?sslmode=require" },
      { name = "FULFILLMENT_LISTEN", value = "0.0.0.0:8080" },
      { name = "FULFILLMENT_ADMIN_LISTEN", value = "0.0.0.0:9464" },
      { name = "OTEL_SDK_DISABLED", value = "true" },
      { name = "KURA_HEALTH_PORT", value = "9464" },
    ]
    secrets     = [{ name = "PGPASSWORD", valueFrom = local.qa.database_password }]
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = local.qa.log_group
        "awslogs-region"        = var.aws_region
        "awslogs-stream-prefix" = "preview-${var.name}"
      }
    }
  }])

  volume {
    name = "tmp"
  }
}

resource "aws_ecs_service" "preview" {
  name                               = "preview-${var.name}"
  cluster                            = local.qa.cluster
  task_definition                    = aws_ecs_task_definition.preview.arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = local.qa.private_subnet_ids
    security_groups  = [local.qa.security_group_id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.preview.arn
    container_name   = "fulfillment"
    container_port   = 8080
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = false
  }
  depends_on = [aws_lb_listener_rule.preview]
}
