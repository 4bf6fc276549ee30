# PostgreSQL on RDS: what both binaries need once there is more than one replica (the service is
# stateless behind it; the controller's replicas elect a leader with an advisory lock on it).
# RDS manages the master password in Secrets Manager and rotates it; Terraform never sees it.
# Tasks get it as PGPASSWORD (sqlx reads it when DATABASE_URL carries no password).

resource "aws_db_subnet_group" "kura" {
  name       = var.name
  subnet_ids = aws_subnet.private[*].id
  tags       = local.tags
}

resource "aws_db_parameter_group" "kura" {
  name   = "${var.name}-postgres16"
  family = "postgres16"
  tags   = local.tags

  # TLS only.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  # Statements slower than 500 ms in the PostgreSQL log (the service logs its own at 100 ms).
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
  parameter {
    name  = "log_lock_waits"
    value = "1"
  }
  parameter {
    name  = "log_temp_files"
    value = "0"
  }
}

resource "aws_db_instance" "kura" {
  # checkov:skip=CKV_AWS_157:Multi-AZ is the variable db_multi_az: production sets true; QA sets false on purpose (a disposable, single-AZ test database).
  # checkov:skip=CKV_AWS_293:Deletion protection is the variable db_deletion_protection: production sets true; QA sets false so the environment can be torn down.
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class
  db_name        = "kura"
  username       = "kura"

  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.kura.arn

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.kura.arn

  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.kura.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.kura.name

  iam_database_authentication_enabled = true
  backup_retention_period             = var.db_backup_retention_days
  backup_window                       = "17:00-18:00" # 02:00-03:00 in Tokyo, before the spec's Sunday maintenance window
  maintenance_window                  = "sat:18:00-sat:19:00"
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.db_deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  auto_minor_version_upgrade          = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.kura.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn

  tags = local.tags
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

locals {
  # No password in the URL: PGPASSWORD comes from the RDS-managed secret.
  database_url       = "postgres://kura@${aws_db_instance.kura.address}:${aws_db_instance.kura.port}/kura?sslmode=require"
  database_admin_url = "postgres://kura@${aws_db_instance.kura.address}:${aws_db_instance.kura.port}/postgres?sslmode=require"
  db_password_secret = "${aws_db_instance.kura.master_user_secret[0].secret_arn}:password::"
}
