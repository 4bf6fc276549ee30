terraform {
  required_version = ">= 1.10"

  # State in S3 with native locking. Partial configuration, given at init:
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="key=qa.tfstate" -backend-config="region=<region>"
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
  }
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = {
      "kura:managed-by" = "terraform"
      "kura:stack"      = "kura-qa"
    }
  }
}

# Credentials from GITHUB_TOKEN / GITHUB_APP_* in the environment, never from this file.
provider "github" {
  owner = var.github_owner
}
