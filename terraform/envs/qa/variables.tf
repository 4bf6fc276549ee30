variable "aws_region" {
  description = "AWS region of QA (the same as production's, so images and latencies compare)."
  type        = string
  default     = "ap-northeast-1"
}

variable "availability_zones" {
  description = "Availability zones of QA (two: the ALB needs two)."
  type        = list(string)
  default     = ["ap-northeast-1a", "ap-northeast-1c"]
}

variable "domain_name" {
  description = "Public name of the QA API (e.g. api.qa.kura.example); the controller is slo.<this>, previews are pr-N.<qa_preview_domain>."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name, slo.domain_name and *.qa_preview_domain."
  type        = string
}

variable "qa_preview_domain" {
  description = "Domain under which QA previews get their names (pr-123.<this>); a wildcard DNS record points it at the QA load balancer."
  type        = string
}

variable "ecr_repository_url" {
  description = "Production's image repository (output ecr_repository_url of envs/production): QA runs the same images."
  type        = string
}

variable "github_owner" {
  description = "Owner (organisation or user) of the GitHub repository."
  type        = string
}

variable "github_repository" {
  description = "Name of the GitHub repository."
  type        = string
  default     = "kura"
}

variable "shares_account_with_production" {
  description = "QA lives in production's AWS account (the GitHub OIDC provider exists there already)."
  type        = bool
  default     = false
}

variable "snapshot_bucket_name" {
  description = "Production's bucket of masked snapshots (read by QA's qa-db task)."
  type        = string
}

variable "terraform_state_bucket" {
  description = "S3 bucket of the Terraform state; QA previews keep their state under qa-preview/ in it."
  type        = string
}

variable "kura_app_id" {
  description = "Id of the Kura GitHub App (0 until registered)."
  type        = number
  default     = 0
}
