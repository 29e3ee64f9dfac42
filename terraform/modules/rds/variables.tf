variable "name" {
  description = "Name prefix of the database resources"
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the subnet group"
  type        = list(string)
}

variable "client_security_group_id" {
  description = "Security group allowed to connect (the cluster's)"
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for storage, the master password secret and Performance Insights"
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL version (the MES is tested on 15)"
  type        = string
}

variable "instance_class" {
  description = "DB instance class"
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial storage (autoscaling to 4x)"
  type        = number
}

variable "multi_az" {
  description = "A synchronous standby in another zone (required in prod)"
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse deletion (required in prod)"
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups"
  type        = number
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
