output "cluster_name" {
  value = module.estate.cluster_name
}

output "ecr_repository_urls" {
  value = module.estate.ecr_repository_urls
}

output "venue_journal_file_system_id" {
  value = module.estate.venue_journal_file_system_id
}

output "mes_database_endpoint" {
  value = module.estate.mes_database_endpoint
}

output "evidence_bucket" {
  value = module.estate.evidence_bucket
}

output "fix_target_group_arn" {
  value = module.estate.fix_target_group_arn
}

output "fix_dns_name" {
  value = module.estate.fix_dns_name
}

output "mes_certificate_arn" {
  value = module.estate.mes_certificate_arn
}

output "alarm_topic_arn" {
  value = module.estate.alarm_topic_arn
}
