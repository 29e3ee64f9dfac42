# The prod environment (terraform/stack with -var-file=../environments/prod/terraform.tfvars).
environment = "prod"
region             = "eu-west-1"
vpc_cidr_block     = "10.30.0.0/16"
az_count           = 3
single_nat_gateway = false
kubernetes_version = "1.30"
# The cluster API is private: operators reach it through the VPN into the VPC.
public_api_cidrs         = []
efs_csi_addon_version    = "v2.1.0-eksbuild.1"
lb_controller_policy_arn = "arn:aws:iam::123456789012:policy/AWSLoadBalancerControllerIAMPolicy"
node_groups = {
  # The venue alone on compute-optimised nodes (its pods tolerate the taint).
  venue = {
    instance_types = ["c7i.2xlarge"]
    desired_size   = 2
    min_size       = 2
    max_size       = 3
    labels         = { "workload" = "venue" }
    taints         = [{ key = "workload", value = "venue", effect = "NO_SCHEDULE" }]
  }
  general = {
    instance_types = ["m6i.xlarge"]
    desired_size   = 3
    min_size       = 3
    max_size       = 6
    labels         = { "workload" = "general" }
    taints         = []
  }
}
db_engine_version        = "15.8"
db_instance_class        = "db.r6g.large"
db_allocated_storage_gb  = 100
db_multi_az              = true
db_backup_retention_days = 35
deletion_protection      = true
# GMP records: batch records and their audit trail are kept at least a year past expiry.
evidence_retention_days = 2555
log_retention_days      = 400
fix_client_cidrs        = ["198.51.100.0/24", "192.0.2.0/24"]
plant_cidrs             = ["10.0.0.0/8"]
domain_name             = "guarded-venue.example"
zone_id                 = "Z0000000000000000PRD"
