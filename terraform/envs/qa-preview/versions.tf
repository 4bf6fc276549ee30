terraform {
  required_version = ">= 1.10"

  # One state object per preview: infra/deploy/qa-env.sh passes bucket, key
  # (qa-preview/<name>.tfstate) and region at init.
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = {
      "kura:managed-by" = "terraform"
      "kura:stack"      = "kura-qa-preview"
      "kura:preview"    = var.name
    }
  }
}
