variable "name" {
  description = "Name prefix of every network resource"
  type        = string
}

variable "region" {
  description = "AWS region (endpoint service names)"
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range"
  type        = string
}

variable "az_count" {
  description = "Availability zones used (subnets, NAT)"
  type        = number
  default     = 3
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, dev) instead of one per zone"
  type        = bool
  default     = false
}

variable "flow_log_group_arn" {
  description = "CloudWatch log group receiving the VPC's rejected-traffic flow logs"
  type        = string
}

variable "flow_log_role_arn" {
  description = "IAM role that lets VPC flow logs write to that group"
  type        = string
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
