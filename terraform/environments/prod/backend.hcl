# The prod environment's Terraform state: S3 (encrypted) with a DynamoDB lock.
#   terraform -chdir=terraform/stack init -backend-config=../environments/prod/backend.hcl
bucket         = "gv-terraform-state-123456789012"
key            = "guarded-venue/prod/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "gv-terraform-locks"
encrypt        = true
