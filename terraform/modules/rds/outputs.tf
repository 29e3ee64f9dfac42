output "endpoint" {
  value = aws_db_instance.this.endpoint
}

output "resource_id" {
  description = "For rds-db:connect IAM policies (IAM authentication)"
  value       = aws_db_instance.this.resource_id
}

output "master_user_secret_arn" {
  value = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "identifier" {
  value = aws_db_instance.this.identifier
}
