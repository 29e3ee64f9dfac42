terraform {
  # State in S3 with a DynamoDB lock; bucket, key and table per environment:
  #   terraform init -backend-config=../environments/<env>/backend.hcl
  backend "s3" {}
  required_version = ">= 1.6.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.82.2"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "4.0.6"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      ManagedBy = "terraform"
      Source    = "guarded-venue/terraform"
    }
  }
}
