output "fix_target_group_arn" {
  description = "Goes into k8s-manifests/trading-engine/overlays/prod/fix-target-group.yaml"
  value       = aws_lb_target_group.fix.arn
}

output "fix_dns_name" {
  value = aws_route53_record.fix.fqdn
}

output "mes_certificate_arn" {
  description = "Goes into the MES Ingress annotation (overlays/prod/ingress.yaml)"
  value       = aws_acm_certificate_validation.mes.certificate_arn
}

output "mes_alb_security_group_id" {
  value = aws_security_group.mes_alb.id
}

output "fix_target_group_arn_suffix" {
  value = aws_lb_target_group.fix.arn_suffix
}

output "fix_load_balancer_arn_suffix" {
  value = aws_lb.fix.arn_suffix
}
