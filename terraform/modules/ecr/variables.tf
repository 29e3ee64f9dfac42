variable "repositories" {
  description = "Repository names (the images the build produces)"
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images"
  type        = string
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
