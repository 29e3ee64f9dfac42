terraform {
  backend "s3" {
    bucket         = "gv-terraform-state-123456789012"
    key            = "guarded-venue/prod/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "gv-terraform-locks"
    encrypt        = true
  }
}
