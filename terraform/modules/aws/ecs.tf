# ECS Fargate: the cluster, the two services and their task definitions, autoscaling, and the
# one-off qa-db task. Task definitions here are the template of each family; the deploy workflow
# registers new revisions that differ only in the image (infra/deploy/register-task.sh), so the
# services ignore task_definition changes made here until the next deploy picks them up.

resource "aws_ecs_cluster" "kura" {
  name = var.name
  tags = local.tags

  setting {
    name  = "containerInsights"
    value = "enhanced"
  }
}

resource "aws_ecs_cluster_capacity_providers" "kura" {
  cluster_name       = aws_ecs_cluster.kura.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "tasks" {
  for_each          = toset(["fulfillment", "slo-controller", "qa-db"])
  name              = "/kura/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.kura.arn
  tags              = local.tags
}

# fulfillment.<name>.internal: the controller reads GET /maintenance from any task.
resource "aws_service_discovery_private_dns_namespace" "kura" {
  name = local.service_discovery_name
  vpc  = aws_vpc.kura.id
  tags = local.tags
}

resource "aws_service_discovery_service" "fulfillment" {
  name = "fulfillment"
  tags = local.tags

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.kura.id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
}

locals {
  log_options = { for k, g in aws_cloudwatch_log_group.tasks : k => {
    logDriver = "awslogs"
    options = {
      "awslogs-group"         = g.name
      "awslogs-region"        = local.region
      "awslogs-stream-prefix" = k
    }
  } }

  otel_env = {
    OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4318"
    OTEL_RESOURCE_ATTRIBUTES    = "deployment.environment=${var.environment}"
  }

  # The sidecar collector: scrapes the admin listener (OpenMetrics, with exemplars) into Managed
  # Prometheus, and forwards the binary's OTLP traces to X-Ray.
  collector_config = { for svc, port in { fulfillment = local.fulfillment_admin_port, "slo-controller" = local.controller_admin_port } : svc => yamlencode({
    extensions = {
      sigv4auth = { region = local.region, service = "aps" }
    }
    receivers = {
      otlp = { protocols = { http = { endpoint = "127.0.0.1:4318" } } }
      prometheus = { config = { scrape_configs = [{
        job_name        = svc
        scrape_interval = "15s"
        static_configs  = [{ targets = ["127.0.0.1:${port}"], labels = { service = svc, environment = var.environment } }]
      }] } }
    }
    processors = { batch = {} }
    exporters = {
      prometheusremotewrite = {
        endpoint                         = "${aws_prometheus_workspace.kura.prometheus_endpoint}api/v1/remote_write"
        auth                             = { authenticator = "sigv4auth" }
        send_metadata                    = true
        resource_to_telemetry_conversion = { enabled = false }
      }
      awsxray = { region = local.region }
    }
    service = {
      extensions = ["sigv4auth"]
      pipelines = {
        metrics = { receivers = ["prometheus"], processors = ["batch"], exporters = ["prometheusremotewrite"] }
        traces  = { receivers = ["otlp"], processors = ["batch"], exporters = ["awsxray"] }
      }
    }
  }) }

  collector_container = { for svc, config in local.collector_config : svc => {
    name                   = "otel-collector"
    image                  = var.otel_collector_image
    essential              = false
    readonlyRootFilesystem = true
    environment            = [{ name = "AOT_CONFIG_CONTENT", value = config }]
    logConfiguration       = merge(local.log_options[svc], { options = merge(local.log_options[svc].options, { "awslogs-stream-prefix" = "${svc}-otel" }) })
  } }

  datadog_container = var.datadog_api_key_secret_arn == null ? [] : [{
    name                   = "datadog-agent"
    image                  = "public.ecr.aws/datadog/agent:7"
    essential              = false
    readonlyRootFilesystem = false # the agent writes its run state under /opt/datadog-agent/run
    environment = [
      { name = "ECS_FARGATE", value = "true" },
      { name = "DD_SITE", value = var.datadog_site },
      { name = "DD_ENV", value = var.environment },
      { name = "DD_SERVICE", value = "fulfillment" },
      { name = "DD_APM_ENABLED", value = "false" },
    ]
    secrets          = [{ name = "DD_API_KEY", valueFrom = var.datadog_api_key_secret_arn }]
    logConfiguration = merge(local.log_options.fulfillment, { options = merge(local.log_options.fulfillment.options, { "awslogs-stream-prefix" = "fulfillment-datadog" }) })
  }]

  fulfillment_container = {
    name                   = "fulfillment"
    image                  = local.bootstrap_image
    essential              = true
    command                = ["fulfillment", "serve"]
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    stopTimeout            = 30
    portMappings = [
      { containerPort = local.fulfillment_port, protocol = "tcp", name = "api" },
      { containerPort = local.fulfillment_admin_port, protocol = "tcp", name = "admin" },
    ]
    environment = [for k, v in merge(local.otel_env, {
      DATABASE_URL              = local.database_url
      OTEL_SERVICE_NAME         = "fulfillment"
      FULFILLMENT_LISTEN        = "0.0.0.0:${local.fulfillment_port}"
      FULFILLMENT_ADMIN_LISTEN  = "0.0.0.0:${local.fulfillment_admin_port}"
      FULFILLMENT_DRAIN_SECONDS = "25"
      KURA_HEALTH_PORT          = tostring(local.fulfillment_admin_port)
    }, var.fulfillment_env) : { name = k, value = v }]
    secrets     = [{ name = "PGPASSWORD", valueFrom = local.db_password_secret }]
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    healthCheck = {
      command     = ["CMD", "/usr/local/bin/kura-healthcheck"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 20
    }
    dockerLabels = var.datadog_api_key_secret_arn == null ? {} : {
      # The Datadog Agent's OpenMetrics check, as the datadog module's generated monitors assume.
      "com.datadoghq.ad.checks" = jsonencode({ openmetrics = { instances = [{
        openmetrics_endpoint = "http://%%host%%:${local.fulfillment_admin_port}/metrics"
        namespace            = "fulfillment"
        metrics              = [".*"]
      }] } })
    }
    logConfiguration = local.log_options.fulfillment
  }

  controller_container = {
    name                   = "slo-controller"
    image                  = local.bootstrap_image
    essential              = true
    command                = ["slo", "controller", "--slos", "/usr/share/kura/slos", "--prometheus", "http://127.0.0.1:8005/workspaces/${aws_prometheus_workspace.kura.id}"]
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    stopTimeout            = 15
    portMappings = [
      { containerPort = local.controller_port, protocol = "tcp", name = "api" },
      { containerPort = local.controller_admin_port, protocol = "tcp", name = "admin" },
    ]
    environment = [for k, v in merge(local.otel_env, {
      DATABASE_URL            = local.database_url
      OTEL_SERVICE_NAME       = "slo-controller"
      SLO_LISTEN              = "0.0.0.0:${local.controller_port}"
      SLO_ADMIN_LISTEN        = "0.0.0.0:${local.controller_admin_port}"
      SLO_SERVICE_MAINTENANCE = "fulfillment=${local.maintenance_url}"
      KURA_HEALTH_PORT        = tostring(local.controller_admin_port)
    }, var.controller_env) : { name = k, value = v }]
    secrets = concat(
      [{ name = "PGPASSWORD", valueFrom = local.db_password_secret }],
      [for name in sort(tolist(var.controller_secrets)) : { name = name, valueFrom = aws_secretsmanager_secret.controller[name].arn }],
    )
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    healthCheck = {
      command     = ["CMD", "/usr/local/bin/kura-healthcheck"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 20
    }
    dependsOn        = [{ containerName = "sigv4-proxy", condition = "START" }]
    logConfiguration = local.log_options["slo-controller"]
  }

  # The controller queries Managed Prometheus through this signing proxy on 127.0.0.1:8005.
  sigv4_proxy_container = {
    name                   = "sigv4-proxy"
    image                  = var.sigv4_proxy_image
    essential              = true
    readonlyRootFilesystem = true
    command                = ["--name", "aps", "--region", local.region, "--host", "aps-workspaces.${local.region}.amazonaws.com", "--port", ":8005"]
    logConfiguration       = merge(local.log_options["slo-controller"], { options = merge(local.log_options["slo-controller"].options, { "awslogs-stream-prefix" = "slo-controller-sigv4" }) })
  }
}

resource "aws_ecs_task_definition" "fulfillment" {
  family                   = "${var.name}-fulfillment"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.fulfillment_cpu
  memory                   = var.fulfillment_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.fulfillment.arn
  container_definitions    = jsonencode(concat([local.fulfillment_container, local.collector_container.fulfillment], local.datadog_container))
  tags                     = local.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "tmp"
  }
}

resource "aws_ecs_task_definition" "controller" {
  family                   = "${var.name}-slo-controller"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.controller_cpu
  memory                   = var.controller_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.controller.arn
  container_definitions    = jsonencode([local.controller_container, local.sigv4_proxy_container, local.collector_container["slo-controller"]])
  tags                     = local.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "tmp"
  }
}

resource "aws_ecs_service" "fulfillment" {
  name                               = "fulfillment"
  cluster                            = aws_ecs_cluster.kura.id
  task_definition                    = aws_ecs_task_definition.fulfillment.arn
  desired_count                      = var.fulfillment_min_tasks
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  tags                               = local.tags

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.fulfillment.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.fulfillment.arn
    container_name   = "fulfillment"
    container_port   = local.fulfillment_port
  }
  service_registries {
    registry_arn = aws_service_discovery_service.fulfillment.arn
  }
  # New tasks that keep failing their health checks roll the deploy back by themselves.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    # Deploys change the task definition (the image); autoscaling changes the count.
    ignore_changes = [task_definition, desired_count]
  }
  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_service" "controller" {
  name            = "slo-controller"
  cluster         = aws_ecs_cluster.kura.id
  task_definition = aws_ecs_task_definition.controller.arn
  desired_count   = var.controller_replicas
  launch_type     = "FARGATE"
  # One replica at a time: the standby takes the leader lock while the other restarts.
  deployment_minimum_healthy_percent = 50
  deployment_maximum_percent         = 100
  health_check_grace_period_seconds  = 30
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  tags                               = local.tags

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.controller.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.controller.arn
    container_name   = "slo-controller"
    container_port   = local.controller_port
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }
  depends_on = [aws_lb_listener.https]
}

# --- Autoscaling of the fulfillment service -------------------------------------------------

resource "aws_appautoscaling_target" "fulfillment" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.kura.name}/${aws_ecs_service.fulfillment.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.fulfillment_min_tasks
  max_capacity       = var.fulfillment_max_tasks
  tags               = local.tags
}

resource "aws_appautoscaling_policy" "fulfillment_cpu" {
  name               = "${var.name}-fulfillment-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.fulfillment.service_namespace
  resource_id        = aws_appautoscaling_target.fulfillment.resource_id
  scalable_dimension = aws_appautoscaling_target.fulfillment.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.fulfillment_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "fulfillment_requests" {
  count              = var.fulfillment_requests_per_task_target > 0 ? 1 : 0
  name               = "${var.name}-fulfillment-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.fulfillment.service_namespace
  resource_id        = aws_appautoscaling_target.fulfillment.resource_id
  scalable_dimension = aws_appautoscaling_target.fulfillment.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.fulfillment_requests_per_task_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.kura.arn_suffix}/${aws_lb_target_group.fulfillment.arn_suffix}"
    }
  }
}

# --- The one-off qa-db task (infra/deploy/qa-db-task.sh in the image's tools target) ---------

resource "aws_ecs_task_definition" "qa_db" {
  count                    = var.qa_database_tools == "none" ? 0 : 1
  family                   = "${var.name}-qa-db"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 4096
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.qa_db[0].arn
  tags                     = local.tags
  container_definitions = jsonencode([{
    name                   = "qa-db"
    image                  = "${local.bootstrap_image}-tools"
    essential              = true
    command                = ["qa-db-task.sh"]
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    environment = [for k, v in {
      DATABASE_ADMIN_URL = local.database_admin_url
      # export only: the production database the masked snapshot is made from.
      DATABASE_URL      = var.qa_database_tools == "export" ? local.database_url : ""
      OTEL_SDK_DISABLED = "true"
    } : { name = k, value = v } if v != ""]
    secrets = [
      { name = "PGPASSWORD", valueFrom = local.db_password_secret },
      { name = "FULFILLMENT_MASK_KEY", valueFrom = aws_secretsmanager_secret.mask_key[0].arn },
    ]
    mountPoints      = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = local.log_options["qa-db"]
  }])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "tmp"
  }
  ephemeral_storage {
    size_in_gib = 100
  }
}
