# The root module: the whole estate of one environment, wired from the modules. Each environment
# is this root with its own settings and state (environments/<env>/terraform.tfvars and
# backend.hcl; terraform/README.md shows the commands). Every resource has a consumer (the README
# says which). No ElastiCache: nothing in the products uses Redis (sessions, rate limits and
# records of the MES live in PostgreSQL; the venue's state is its journal).
locals {
  tags = merge(var.tags, {
    Project     = "guarded-venue"
    Environment = var.environment
  })
  name = "gv-${var.environment}"
}

module "kms" {
  source = "../modules/kms"
  name   = local.name
  tags   = local.tags
}

module "observability" {
  source                       = "../modules/observability"
  name                         = local.name
  kms_key_arn                  = module.kms.key_arns["logs"]
  log_retention_days           = var.log_retention_days
  fix_target_group_arn_suffix  = module.edge.fix_target_group_arn_suffix
  fix_load_balancer_arn_suffix = module.edge.fix_load_balancer_arn_suffix
  db_instance_identifier       = module.rds.identifier
  tags                         = local.tags
}

module "network" {
  source             = "../modules/network"
  name               = local.name
  region             = var.region
  cidr_block         = var.vpc_cidr_block
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
  flow_log_group_arn = module.observability.flow_log_group_arn
  flow_log_role_arn  = module.observability.flow_log_role_arn
  tags               = local.tags
}

module "eks" {
  source                = "../modules/eks"
  name                  = local.name
  kubernetes_version    = var.kubernetes_version
  private_subnet_ids    = module.network.private_subnet_ids
  public_api_cidrs      = var.public_api_cidrs
  secrets_kms_key_arn   = module.kms.key_arns["eks-secrets"]
  logs_kms_key_arn      = module.kms.key_arns["logs"]
  log_retention_days    = var.log_retention_days
  efs_csi_addon_version = var.efs_csi_addon_version
  node_groups           = var.node_groups
  irsa_roles = {
    "efs-csi" = {
      namespace       = "kube-system"
      service_account = "efs-csi-controller-sa"
      policy_arn      = "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
    }
    "lb-controller" = {
      namespace       = "kube-system"
      service_account = "aws-load-balancer-controller"
      policy_arn      = var.lb_controller_policy_arn
    }
    "evidence-writer" = {
      namespace       = "guarded-venue-deploy"
      service_account = "guardctl"
      policy_arn      = ""
    }
  }
  tags = local.tags
}

module "efs" {
  source                   = "../modules/efs"
  name                     = "${local.name}-venue-journal"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  kms_key_arn              = module.kms.key_arns["efs"]
  tags                     = local.tags
}

module "ecr" {
  source       = "../modules/ecr"
  repositories = ["trading-engine", "pharma-mes", "tools"]
  kms_key_arn  = module.kms.key_arns["ecr"]
  tags         = local.tags
}

module "rds" {
  source                   = "../modules/rds"
  name                     = "${local.name}-mes"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  kms_key_arn              = module.kms.key_arns["rds"]
  engine_version           = var.db_engine_version
  instance_class           = var.db_instance_class
  allocated_storage_gb     = var.db_allocated_storage_gb
  multi_az                 = var.db_multi_az
  deletion_protection      = var.deletion_protection
  backup_retention_days    = var.db_backup_retention_days
  tags                     = local.tags
}

module "evidence" {
  source         = "../modules/evidence"
  name           = "${local.name}-evidence"
  retention_days = var.evidence_retention_days
  kms_key_arn    = module.kms.key_arns["evidence"]
  tags           = local.tags
}

# The deployment controller (guardctl in the cluster) may only add evidence, never delete it.
resource "aws_iam_role_policy" "evidence_writer" {
  role = module.eks.irsa_role_names["evidence-writer"]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "s3:ListBucket"]
      Resource = [module.evidence.bucket_arn, "${module.evidence.bucket_arn}/*"]
      }, {
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource = [module.kms.key_arns["evidence"]]
    }]
  })
}

module "edge" {
  source              = "../modules/edge"
  name                = local.name
  vpc_id              = module.network.vpc_id
  vpc_cidr_block      = module.network.vpc_cidr_block
  public_subnet_ids   = module.network.public_subnet_ids
  fix_client_cidrs    = var.fix_client_cidrs
  plant_cidrs         = var.plant_cidrs
  domain_name         = var.domain_name
  zone_id             = var.zone_id
  deletion_protection = var.deletion_protection
  tags                = local.tags
}
