variable "name" {
  description = "Alias prefix"
  type        = string
}

variable "purposes" {
  description = "One key per purpose"
  type        = list(string)
  default     = ["eks-secrets", "rds", "efs", "ecr", "evidence", "logs"]
}

variable "deletion_window_days" {
  description = "Waiting period before a scheduled key deletion"
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
