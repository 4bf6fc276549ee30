variable "name" {
  description = "Name of the preview (pr-123, or br-<branch>): its host name <name>.<preview domain>, its database qa_<name>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,40}$", var.name))
    error_message = "name is lowercase letters, digits and dashes."
  }
}

variable "image" {
  description = "Image to run (repository:sha), built by the QA environment workflow."
  type        = string
}

variable "listener_rule_priority" {
  description = "Priority of the preview's rule on the QA HTTPS listener (unique per preview; the workflow derives it from the pull request number)."
  type        = number
}

variable "aws_region" {
  description = "AWS region of QA."
  type        = string
}

variable "qa_state_bucket" {
  description = "S3 bucket holding the QA environment's Terraform state."
  type        = string
}

variable "qa_state_key" {
  description = "Key of the QA environment's Terraform state in qa_state_bucket (qa.tfstate)."
  type        = string
}
