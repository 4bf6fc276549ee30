terraform {
  required_version = ">= 1.10"

  # State in S3 with native locking. Partial configuration, given at init:
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="key=production.tfstate" -backend-config="region=<region>"
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    github = {
      source  = "integrations/github"
      version = ">= 6.6, < 7.0"
    }
    datadog = {
      source  = "DataDog/datadog"
      version = ">= 3.39.0, < 4.0"
    }
  }
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = {
      "kura:managed-by" = "terraform"
      "kura:stack"      = "kura-production"
    }
  }
}

# Credentials from GITHUB_TOKEN / GITHUB_APP_* in the environment, never from this file.
provider "github" {
  owner = var.github_owner
}

# Credentials from DD_API_KEY / DD_APP_KEY in the environment. Keys are validated only when the
# Datadog module is enabled, so teams without Datadog need none.
provider "datadog" {
  api_url  = var.datadog_api_url
  validate = var.enable_datadog
}
