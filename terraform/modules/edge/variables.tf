variable "name" {
  description = "Name prefix"
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancers"
  type        = string
}

variable "vpc_cidr_block" {
  description = "The VPC's range (the pods' addresses)"
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the FIX NLB"
  type        = list(string)
}

variable "fix_client_cidrs" {
  description = "Counterparty networks allowed to FIX (never 0.0.0.0/0 on an admin port)"
  type        = list(string)
}

variable "plant_cidrs" {
  description = "Plant networks allowed to the MES UI"
  type        = list(string)
}

variable "domain_name" {
  description = "DNS zone name (fix.<zone>, mes.<zone>)"
  type        = string
}

variable "zone_id" {
  description = "Route 53 hosted zone of domain_name"
  type        = string
}

variable "deletion_protection" {
  description = "Refuse deletion of the NLB (prod)"
  type        = bool
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
