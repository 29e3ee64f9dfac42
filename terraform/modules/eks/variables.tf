variable "name" {
  description = "Cluster name"
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version (the manifests need >= 1.28)"
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the nodes and the control plane's interfaces"
  type        = list(string)
}

variable "public_api_cidrs" {
  description = "Addresses allowed to the public API endpoint; empty keeps the API private"
  type        = list(string)
  default     = []
}

variable "secrets_kms_key_arn" {
  description = "KMS key that encrypts Kubernetes Secrets"
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key of the control plane's log group"
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the control plane logs"
  type        = number
}

variable "node_groups" {
  description = "Managed node groups by name"
  type = map(object({
    instance_types = list(string)
    desired_size   = number
    min_size       = number
    max_size       = number
    labels         = map(string)
    taints         = list(object({ key = string, value = string, effect = string }))
  }))
}

variable "irsa_roles" {
  description = "IAM roles for service accounts: efs-csi is required (the EFS CSI add-on uses it)"
  type = map(object({
    namespace       = string
    service_account = string
    policy_arn      = string
  }))
}

variable "efs_csi_addon_version" {
  description = "Version of the aws-efs-csi-driver add-on (pinned)"
  type        = string
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
