# The VPC: public subnets for the ALB and the NAT gateways, private subnets for the tasks and
# the database. Tasks have no public address; they reach AWS APIs, GitHub and receivers through
# NAT on 443 only.

resource "aws_vpc" "kura" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = var.name })
}

# No rules: nothing may use the default security group.
resource "aws_default_security_group" "kura" {
  vpc_id = aws_vpc.kura.id
  tags   = merge(local.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_subnet" "public" {
  count             = length(var.availability_zones)
  vpc_id            = aws_vpc.kura.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  tags              = merge(local.tags, { Name = "${var.name}-public-${var.availability_zones[count.index]}" })
}

resource "aws_subnet" "private" {
  count             = length(var.availability_zones)
  vpc_id            = aws_vpc.kura.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index + 8)
  tags              = merge(local.tags, { Name = "${var.name}-private-${var.availability_zones[count.index]}" })
}

resource "aws_internet_gateway" "kura" {
  vpc_id = aws_vpc.kura.id
  tags   = merge(local.tags, { Name = var.name })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.kura.id
  tags   = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.kura.id
}

resource "aws_route_table_association" "public" {
  count          = length(var.availability_zones)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

locals {
  nat_count = var.nat_gateway_per_az ? length(var.availability_zones) : 1
}

resource "aws_eip" "nat" {
  count  = local.nat_count
  domain = "vpc"
  tags   = merge(local.tags, { Name = "${var.name}-nat-${count.index}" })
}

resource "aws_nat_gateway" "kura" {
  count         = local.nat_count
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(local.tags, { Name = "${var.name}-${count.index}" })
  depends_on    = [aws_internet_gateway.kura]
}

resource "aws_route_table" "private" {
  count  = length(var.availability_zones)
  vpc_id = aws_vpc.kura.id
  tags   = merge(local.tags, { Name = "${var.name}-private-${var.availability_zones[count.index]}" })
}

resource "aws_route" "private_nat" {
  count                  = length(var.availability_zones)
  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.kura[var.nat_gateway_per_az ? count.index : 0].id
}

resource "aws_route_table_association" "private" {
  count          = length(var.availability_zones)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# VPC flow logs: every accepted and rejected connection, for incident forensics.
resource "aws_flow_log" "kura" {
  vpc_id               = aws_vpc.kura.id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow.arn
  iam_role_arn         = aws_iam_role.flow_logs.arn
  tags                 = local.tags
}

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/kura/${var.name}/vpc-flow"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.kura.arn
  tags              = local.tags
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

# --- Security groups: each side names the other, no CIDR-wide rules inside the VPC ----------

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Public load balancer: HTTPS (and HTTP redirected) from anywhere"
  vpc_id      = aws_vpc.kura.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  # checkov:skip=CKV_AWS_260:Port 80 only answers a 301 to HTTPS (listener "http" in alb.tf); nothing is forwarded over plain HTTP.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the internet, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "fulfillment" {
  name        = "${var.name}-fulfillment"
  description = "Fulfillment tasks: API from the ALB; admin listener from ALB health checks and the controller"
  vpc_id      = aws_vpc.kura.id
  tags        = local.tags
}

resource "aws_security_group" "controller" {
  name        = "${var.name}-slo-controller"
  description = "SLO controller tasks: API from the ALB; admin listener from ALB health checks"
  vpc_id      = aws_vpc.kura.id
  tags        = local.tags
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "PostgreSQL from the Kura tasks only"
  vpc_id      = aws_vpc.kura.id
  tags        = local.tags
}

locals {
  alb_to = {
    fulfillment_api   = { sg = aws_security_group.fulfillment.id, port = local.fulfillment_port, what = "fulfillment API" }
    fulfillment_admin = { sg = aws_security_group.fulfillment.id, port = local.fulfillment_admin_port, what = "fulfillment /readyz health checks" }
    controller_api    = { sg = aws_security_group.controller.id, port = local.controller_port, what = "controller API, dashboard, GitHub webhook" }
    controller_admin  = { sg = aws_security_group.controller.id, port = local.controller_admin_port, what = "controller /readyz health checks" }
  }
  task_groups = {
    fulfillment = aws_security_group.fulfillment.id
    controller  = aws_security_group.controller.id
  }
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  for_each                     = local.alb_to
  security_group_id            = aws_security_group.alb.id
  description                  = "To the ${each.value.what}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.sg
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  for_each                     = local.alb_to
  security_group_id            = each.value.sg
  description                  = "From the ALB: ${each.value.what}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.alb.id
}

# The controller reads the service's maintenance mode from its admin listener.
resource "aws_vpc_security_group_ingress_rule" "fulfillment_admin_from_controller" {
  security_group_id            = aws_security_group.fulfillment.id
  description                  = "From the SLO controller: GET /maintenance on the admin listener"
  ip_protocol                  = "tcp"
  from_port                    = local.fulfillment_admin_port
  to_port                      = local.fulfillment_admin_port
  referenced_security_group_id = aws_security_group.controller.id
}

resource "aws_vpc_security_group_egress_rule" "controller_to_fulfillment_admin" {
  security_group_id            = aws_security_group.controller.id
  description                  = "To the fulfillment admin listener: GET /maintenance"
  ip_protocol                  = "tcp"
  from_port                    = local.fulfillment_admin_port
  to_port                      = local.fulfillment_admin_port
  referenced_security_group_id = aws_security_group.fulfillment.id
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  for_each          = local.task_groups
  security_group_id = each.value
  description       = "HTTPS out through NAT: ECR, Secrets Manager, Managed Prometheus, X-Ray, GitHub, receivers"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_database" {
  for_each                     = local.task_groups
  security_group_id            = each.value
  description                  = "To PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_tasks" {
  for_each                     = local.task_groups
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}
