# The dev environment (terraform/stack with -var-file=../environments/dev/terraform.tfvars).
environment = "dev"
region                   = "eu-west-1"
vpc_cidr_block           = "10.20.0.0/16"
az_count                 = 2
single_nat_gateway       = true
kubernetes_version       = "1.30"
public_api_cidrs         = ["203.0.113.0/24"]
efs_csi_addon_version    = "v2.1.0-eksbuild.1"
lb_controller_policy_arn = "arn:aws:iam::123456789012:policy/AWSLoadBalancerControllerIAMPolicy"
node_groups = {
  general = {
    instance_types = ["m6i.large"]
    desired_size   = 2
    min_size       = 2
    max_size       = 4
    labels         = { "workload" = "general" }
    taints         = []
  }
}
db_engine_version        = "15.8"
db_instance_class        = "db.t4g.medium"
db_allocated_storage_gb  = 20
db_multi_az              = false
db_backup_retention_days = 7
deletion_protection      = false
evidence_retention_days  = 30
log_retention_days       = 14
fix_client_cidrs         = ["198.51.100.0/24"]
plant_cidrs              = ["10.0.0.0/8"]
domain_name              = "dev.guarded-venue.example"
zone_id                  = "Z0000000000000000DEV"
