output "cluster_name" {
  value = module.eks.cluster_name
}

output "ecr_repository_urls" {
  value = module.ecr.repository_urls
}

output "venue_journal_file_system_id" {
  description = "For the efs-shared StorageClass of k8s-manifests"
  value       = module.efs.file_system_id
}

output "mes_database_endpoint" {
  value = module.rds.endpoint
}

output "evidence_bucket" {
  value = module.evidence.bucket_name
}

output "fix_target_group_arn" {
  value = module.edge.fix_target_group_arn
}

output "fix_dns_name" {
  value = module.edge.fix_dns_name
}

output "mes_certificate_arn" {
  value = module.edge.mes_certificate_arn
}

output "alarm_topic_arn" {
  value = module.observability.alarm_topic_arn
}
