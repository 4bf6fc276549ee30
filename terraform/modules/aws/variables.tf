variable "name" {
  description = "Prefix of every resource's name (e.g. kura-production); lowercase letters, digits and dashes."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name as GitHub and the SLO controller know it (qa, production); tags every resource and the traces' deployment.environment."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into one public and one private /20 (for a /16) subnet per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones to spread subnets, tasks and the database over (at least two: the ALB and a multi-AZ database need them)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "Give at least two availability zones."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per availability zone (true: an AZ outage does not cut the others' egress) or a single shared one (false: cheaper, for QA)."
  type        = bool
  default     = true
}

variable "domain_name" {
  description = "Public DNS name of the fulfillment API (e.g. api.kura.example); the controller is served at slo.<this name>. DNS records are managed outside this module."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the ALB's HTTPS listener, covering domain_name and slo.domain_name."
  type        = string
}

variable "controller_allowed_cidrs" {
  description = "Source CIDRs allowed to reach the controller's API and dashboard through the ALB (at most 4: an ALB rule condition limit). GitHub's webhook deliveries to /webhooks/github are always allowed (their signature is verified)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.controller_allowed_cidrs) >= 1 && length(var.controller_allowed_cidrs) <= 4
    error_message = "Give between one and four CIDRs."
  }
}

variable "create_ecr_repository" {
  description = "Create the image repository here (true in the environment that owns it); otherwise pass ecr_repository_url."
  type        = bool
  default     = false
}

variable "ecr_repository_url" {
  description = "URL of an existing image repository (when create_ecr_repository is false), e.g. 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/kura."
  type        = string
  default     = null
}

variable "ecr_pull_account_ids" {
  description = "Other AWS accounts (e.g. QA's) whose ECS tasks may pull images from the repository created here."
  type        = list(string)
  default     = []
}

variable "bootstrap_image_tag" {
  description = "Image tag the task definitions start with. After the first apply the deploy workflow registers new revisions with the sha it deploys; Terraform does not roll services back to this tag."
  type        = string
  default     = "bootstrap"
}

variable "fulfillment_cpu" {
  description = "Fargate CPU units of one fulfillment task (service, OpenTelemetry collector sidecar)."
  type        = number
  default     = 1024
}

variable "fulfillment_memory" {
  description = "Fargate memory (MiB) of one fulfillment task."
  type        = number
  default     = 2048
}

variable "fulfillment_min_tasks" {
  description = "Fewest fulfillment tasks the autoscaler keeps (the service is stateless behind PostgreSQL)."
  type        = number
  default     = 2
}

variable "fulfillment_max_tasks" {
  description = "Most fulfillment tasks the autoscaler starts."
  type        = number
  default     = 10
}

variable "fulfillment_cpu_target" {
  description = "Average CPU utilisation (percent) the autoscaler keeps the fulfillment service at."
  type        = number
  default     = 60
}

variable "fulfillment_requests_per_task_target" {
  description = "ALB requests per target per minute the autoscaler keeps each fulfillment task at (0 turns this policy off)."
  type        = number
  default     = 6000
}

variable "controller_replicas" {
  description = "SLO controller tasks: two run active/standby on a PostgreSQL advisory lock (the standby serves reads and takes over within two evaluation intervals)."
  type        = number
  default     = 2
}

variable "controller_cpu" {
  description = "Fargate CPU units of one SLO controller task."
  type        = number
  default     = 512
}

variable "controller_memory" {
  description = "Fargate memory (MiB) of one SLO controller task."
  type        = number
  default     = 1024
}

variable "controller_env" {
  description = "Extra environment variables of the SLO controller (e.g. SLO_INTERVAL, SLO_RENOTIFY_INTERVAL, SLO_GITHUB_APP_ID); secrets go in controller_secrets."
  type        = map(string)
  default     = {}
}

variable "controller_secrets" {
  description = "Environment variables of the SLO controller whose values live in Secrets Manager, by variable name; this module creates one empty secret per name (set its value with `aws secretsmanager put-secret-value` before the first deploy)."
  type        = set(string)
  default     = ["SLO_API_TOKEN", "SLO_WEBHOOK_SECRET", "SLO_PAGERDUTY_ROUTING_KEY", "SLO_SLACK_WEBHOOK"]
}

variable "fulfillment_env" {
  description = "Extra environment variables of the fulfillment service (e.g. FULFILLMENT_MAX_IN_FLIGHT, RUST_LOG)."
  type        = map(string)
  default     = {}
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_engine_version" {
  description = "PostgreSQL major.minor version on RDS (minor upgrades are applied automatically in the maintenance window)."
  type        = string
  default     = "16.6"
}

variable "db_allocated_storage" {
  description = "Initial storage of the database (GiB); it grows automatically up to db_max_allocated_storage."
  type        = number
  default     = 50
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling of the database (GiB)."
  type        = number
  default     = 500
}

variable "db_multi_az" {
  description = "Run the database as a multi-AZ deployment with a synchronous standby (production: true)."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated backups and point-in-time recovery."
  type        = number
  default     = 14
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database (turn off only to tear an environment down on purpose)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the tasks', VPC flow and WAF logs."
  type        = number
  default     = 365
}

variable "prometheus_rules_file" {
  description = "Path of the rules `slo generate prometheus app/slos` wrote, loaded into the Amazon Managed Prometheus workspace (ErrorBudgetBurn and the recording rules); null loads none."
  type        = string
  default     = null
}

variable "otel_collector_image" {
  description = "AWS Distro for OpenTelemetry collector image of the sidecar that scrapes the admin listener into Amazon Managed Prometheus and forwards OTLP traces to X-Ray."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
}

variable "sigv4_proxy_image" {
  description = "aws-sigv4-proxy image of the controller's sidecar that signs its PromQL queries to Amazon Managed Prometheus (the controller speaks plain Prometheus HTTP)."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.10"
}

variable "datadog_api_key_secret_arn" {
  description = "Secrets Manager ARN of a Datadog API key; when set, a Datadog Agent sidecar scrapes the fulfillment admin listener (OpenMetrics check, namespace fulfillment) for the monitors of the datadog module. Null: no Datadog Agent."
  type        = string
  default     = null
}

variable "datadog_site" {
  description = "Datadog site of the agent (datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ...)."
  type        = string
  default     = "datadoghq.com"
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows may assume the deploy and build roles (OIDC)."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC identity provider (one per AWS account: false when another environment in the same account created it)."
  type        = bool
  default     = true
}

variable "github_environments" {
  description = "GitHub environments whose jobs may assume this environment's deploy role (e.g. [\"production\"] or [\"qa\", \"qa-preview\"])."
  type        = list(string)
}

variable "github_data_environment" {
  description = "GitHub environment whose jobs may run the production-data export (a masked QA snapshot), or null when this environment has no such job."
  type        = string
  default     = null
}

variable "create_build_role" {
  description = "Create the role that CI builds assume to push images (in the environment that owns the image repository)."
  type        = bool
  default     = false
}

variable "qa_database_tools" {
  description = "The one-off `qa-db` task: \"import\" (QA: create QA databases from demo data or a masked snapshot), \"export\" (production: write masked snapshots), or \"none\"."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "import", "export"], var.qa_database_tools)
    error_message = "qa_database_tools is none, import or export."
  }
}

variable "snapshot_bucket_name" {
  description = "S3 bucket of masked database snapshots: created here when qa_database_tools is export, read from when it is import."
  type        = string
  default     = null
}

variable "snapshot_reader_role_arns" {
  description = "IAM roles (QA's qa-db task role) allowed to read the masked snapshots in the bucket this environment creates."
  type        = list(string)
  default     = []
}

variable "enable_preview_environments" {
  description = "Allow the qa-preview deploy role to create per-pull-request services, target groups and listener rules (QA only)."
  type        = bool
  default     = false
}

variable "terraform_state_bucket" {
  description = "S3 bucket of the Terraform state; the qa-preview jobs keep one state object per QA environment under qa-preview/ in it."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (the provider's default_tags are added too)."
  type        = map(string)
  default     = {}
}
