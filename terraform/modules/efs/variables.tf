variable "name" {
  description = "Name of the file system"
  type        = string
}

variable "vpc_id" {
  description = "VPC of the mount targets"
  type        = string
}

variable "subnet_ids" {
  description = "One mount target per subnet (the private ones)"
  type        = list(string)
}

variable "client_security_group_id" {
  description = "Security group of the clients (the cluster's)"
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the file system"
  type        = string
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
