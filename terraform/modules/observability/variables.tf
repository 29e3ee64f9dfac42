variable "name" {
  description = "Name prefix (log group paths, alarm names)"
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the log groups and the SNS topic"
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the log groups"
  type        = number
}

variable "fix_target_group_arn_suffix" {
  description = "ARN suffix of the FIX target group (empty: no FIX alarm)"
  type        = string
  default     = ""
}

variable "fix_load_balancer_arn_suffix" {
  description = "ARN suffix of the FIX NLB"
  type        = string
  default     = ""
}

variable "db_instance_identifier" {
  description = "The MES database instance"
  type        = string
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
