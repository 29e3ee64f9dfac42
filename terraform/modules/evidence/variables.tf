variable "name" {
  description = "Bucket name prefix"
  type        = string
}

variable "retention_days" {
  description = "Object Lock retention (COMPLIANCE mode): GMP records are kept years"
  type        = number
}

variable "kms_key_arn" {
  description = "KMS key of the bucket's default encryption"
  type        = string
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
