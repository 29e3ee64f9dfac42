# The venue's shared journal and FIX session store: an encrypted EFS file system with a mount
# target in every private subnet, reachable by NFS from the cluster only. The EFS CSI driver
# makes an access point per volume (uid/gid 10001, the image's user): see the efs-shared
# StorageClass in k8s-manifests/trading-engine/overlays/prod.
resource "aws_efs_file_system" "this" {
  creation_token   = var.name
  encrypted        = true
  kms_key_id       = var.kms_key_arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"
  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }
  tags = merge(var.tags, { Name = var.name })
}

resource "aws_efs_backup_policy" "this" {
  file_system_id = aws_efs_file_system.this.id
  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_security_group" "efs" {
  name_prefix = "${var.name}-efs-"
  description = "NFS from the cluster's nodes only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "NFS from the cluster"
    from_port       = 2049
    to_port         = 2049
    protocol        = "tcp"
    security_groups = [var.client_security_group_id]
  }
  tags = var.tags
}

resource "aws_efs_mount_target" "this" {
  count           = length(var.subnet_ids)
  file_system_id  = aws_efs_file_system.this.id
  subnet_id       = var.subnet_ids[count.index]
  security_groups = [aws_security_group.efs.id]
}
