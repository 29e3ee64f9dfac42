variable "environment" {
  description = "dev or prod"
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod"
  }
}

variable "region" {
  description = "AWS region"
  type        = string
}

variable "vpc_cidr_block" {
  description = "The VPC's range"
  type        = string
}

variable "az_count" {
  description = "Availability zones"
  type        = number
}

variable "single_nat_gateway" {
  description = "One NAT gateway (dev) instead of one per zone"
  type        = bool
}

variable "kubernetes_version" {
  description = "EKS version"
  type        = string
}

variable "public_api_cidrs" {
  description = "Who may reach the cluster API from outside the VPC (empty: private only)"
  type        = list(string)
}

variable "efs_csi_addon_version" {
  description = "aws-efs-csi-driver add-on version"
  type        = string
}

variable "lb_controller_policy_arn" {
  description = "IAM policy of the AWS Load Balancer Controller (created from its published policy document)"
  type        = string
}

variable "node_groups" {
  description = "Managed node groups (see modules/eks)"
  type = map(object({
    instance_types = list(string)
    desired_size   = number
    min_size       = number
    max_size       = number
    labels         = map(string)
    taints         = list(object({ key = string, value = string, effect = string }))
  }))
}

variable "db_engine_version" {
  description = "PostgreSQL version"
  type        = string
}

variable "db_instance_class" {
  description = "DB instance class"
  type        = string
}

variable "db_allocated_storage_gb" {
  description = "DB storage"
  type        = number
}

variable "db_multi_az" {
  description = "Multi-AZ database (prod: true)"
  type        = bool
}

variable "db_backup_retention_days" {
  description = "Automated backup retention"
  type        = number
}

variable "deletion_protection" {
  description = "Deletion protection of the database and the NLB (prod: true)"
  type        = bool
}

variable "evidence_retention_days" {
  description = "Object Lock retention of deployment evidence and audit exports"
  type        = number
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention"
  type        = number
}

variable "fix_client_cidrs" {
  description = "Counterparty networks allowed to FIX"
  type        = list(string)
}

variable "plant_cidrs" {
  description = "Plant networks allowed to the MES UI"
  type        = list(string)
}

variable "domain_name" {
  description = "DNS zone"
  type        = string
}

variable "zone_id" {
  description = "Route 53 zone id of domain_name"
  type        = string
}

variable "tags" {
  description = "Extra tags"
  type        = map(string)
  default     = {}
}
