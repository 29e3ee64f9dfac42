# The prod environment: the whole estate (modules/estate) with this environment's settings
# (terraform.tfvars). State in S3 with a DynamoDB lock (backend.tf).
module "estate" {
  source                   = "../../modules/estate"
  environment              = "prod"
  region                   = var.region
  vpc_cidr_block           = var.vpc_cidr_block
  az_count                 = var.az_count
  single_nat_gateway       = var.single_nat_gateway
  kubernetes_version       = var.kubernetes_version
  public_api_cidrs         = var.public_api_cidrs
  efs_csi_addon_version    = var.efs_csi_addon_version
  lb_controller_policy_arn = var.lb_controller_policy_arn
  node_groups              = var.node_groups
  db_engine_version        = var.db_engine_version
  db_instance_class        = var.db_instance_class
  db_allocated_storage_gb  = var.db_allocated_storage_gb
  db_multi_az              = var.db_multi_az
  db_backup_retention_days = var.db_backup_retention_days
  deletion_protection      = var.deletion_protection
  evidence_retention_days  = var.evidence_retention_days
  log_retention_days       = var.log_retention_days
  fix_client_cidrs         = var.fix_client_cidrs
  plant_cidrs              = var.plant_cidrs
  domain_name              = var.domain_name
  zone_id                  = var.zone_id
}
