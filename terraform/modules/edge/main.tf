# What clients reach: an internet-facing NLB for FIX over TCP (its target group is bound to the
# venue's active Service by the AWS Load Balancer Controller's TargetGroupBinding, so a promotion
# moves new sessions and drains old ones), an internal ALB security group for the MES operator UI
# (the ALB itself comes from the Ingress), the ACM certificate and the Route 53 records.
resource "aws_lb" "fix" {
  name                             = "${var.name}-fix"
  load_balancer_type               = "network"
  internal                         = false
  subnets                          = var.public_subnet_ids
  security_groups                  = [aws_security_group.fix.id]
  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.deletion_protection
  tags                             = var.tags
}

resource "aws_security_group" "fix" {
  name_prefix = "${var.name}-fix-"
  description = "FIX 4.4 from the counterparties' networks only"
  vpc_id      = var.vpc_id
  ingress {
    description = "FIX from counterparties"
    from_port   = 9878
    to_port     = 9878
    protocol    = "tcp"
    cidr_blocks = var.fix_client_cidrs
  }
  egress {
    description = "To the venue's pods"
    from_port   = 9878
    to_port     = 9878
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
  tags = var.tags
}

resource "aws_lb_target_group" "fix" {
  name                 = "${var.name}-fix"
  port                 = 9878
  protocol             = "TCP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30
  health_check {
    protocol = "HTTP"
    port     = "8080"
    path     = "/readyz"
    interval = 10
  }
  tags = var.tags
}

resource "aws_lb_listener" "fix" {
  load_balancer_arn = aws_lb.fix.arn
  port              = 9878
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.fix.arn
  }
}

resource "aws_security_group" "mes_alb" {
  name_prefix = "${var.name}-mes-alb-"
  description = "The MES operator UI: HTTPS from the plant's networks only"
  vpc_id      = var.vpc_id
  ingress {
    description = "HTTPS from the plant floor"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.plant_cidrs
  }
  egress {
    description = "To the MES pods"
    from_port   = 8090
    to_port     = 8090
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
  tags = var.tags
}

resource "aws_acm_certificate" "mes" {
  domain_name       = "mes.${var.domain_name}"
  validation_method = "DNS"
  tags              = var.tags
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "fix" {
  zone_id = var.zone_id
  name    = "fix.${var.domain_name}"
  type    = "A"
  alias {
    name                   = aws_lb.fix.dns_name
    zone_id                = aws_lb.fix.zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "mes_validation" {
  for_each = {
    for o in aws_acm_certificate.mes.domain_validation_options : o.domain_name => o
  }
  zone_id = var.zone_id
  name    = each.value.resource_record_name
  type    = each.value.resource_record_type
  records = [each.value.resource_record_value]
  ttl     = 300
}

resource "aws_acm_certificate_validation" "mes" {
  certificate_arn         = aws_acm_certificate.mes.arn
  validation_record_fqdns = [for r in aws_route53_record.mes_validation : r.fqdn]
}
