# AWS Backup for the database, beside RDS's own automated backups: a separate
# vault with its own KMS key (a compromised RDS role cannot delete these), daily
# and monthly rules, optional continuous backup for PITR from the vault, and in
# production a copy of every recovery point to a second region.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: resource "*" is this key only, and the account-root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:Key policy: resource "*" is this key only.
  #checkov:skip=CKV_AWS_356:Key policy: resource "*" is this key only (key policies cannot name their own ARN).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "vault" {
  description             = "${var.name} backup vault"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_backup_vault" "this" {
  name        = "${var.name}-vault"
  kms_key_arn = aws_kms_key.vault.arn
  tags        = var.tags
}

resource "aws_backup_vault_lock_configuration" "this" {
  count = var.vault_lock == null ? 0 : 1

  backup_vault_name  = aws_backup_vault.this.name
  min_retention_days = var.vault_lock.min_retention_days
  max_retention_days = var.vault_lock.max_retention_days
  # No changeable_for_days: governance mode, removable by an administrator.
}

resource "aws_kms_key" "replica" {
  count    = var.copy_to_replica_region ? 1 : 0
  provider = aws.replica

  description             = "${var.name} backup vault (cross-region copy)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_backup_vault" "replica" {
  count    = var.copy_to_replica_region ? 1 : 0
  provider = aws.replica

  name        = "${var.name}-vault-replica"
  kms_key_arn = aws_kms_key.replica[0].arn
  tags        = var.tags
}

resource "aws_backup_plan" "this" {
  name = "${var.name}-database"

  rule {
    rule_name                = "daily"
    target_vault_name        = aws_backup_vault.this.name
    schedule                 = var.schedule
    start_window             = 60
    completion_window        = 360
    enable_continuous_backup = var.continuous_backup

    lifecycle {
      delete_after = var.continuous_backup ? min(var.daily_retention_days, 35) : var.daily_retention_days
    }

    dynamic "copy_action" {
      for_each = var.copy_to_replica_region ? [aws_backup_vault.replica[0].arn] : []
      content {
        destination_vault_arn = copy_action.value
        lifecycle {
          delete_after = var.replica_retention_days
        }
      }
    }

    recovery_point_tags = merge(var.tags, { BackupRule = "daily" })
  }

  rule {
    rule_name         = "monthly"
    target_vault_name = aws_backup_vault.this.name
    schedule          = "cron(0 5 1 * ? *)"
    start_window      = 60
    completion_window = 720

    lifecycle {
      delete_after = var.monthly_retention_days
    }

    dynamic "copy_action" {
      for_each = var.copy_to_replica_region ? [aws_backup_vault.replica[0].arn] : []
      content {
        destination_vault_arn = copy_action.value
        lifecycle {
          delete_after = var.monthly_retention_days
        }
      }
    }

    recovery_point_tags = merge(var.tags, { BackupRule = "monthly" })
  }

  tags = var.tags
}

data "aws_iam_policy_document" "backup_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "backup" {
  name_prefix        = "${var.name}-backup-"
  assume_role_policy = data.aws_iam_policy_document.backup_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = toset([
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
  ])
  role       = aws_iam_role.backup.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_backup_selection" "this" {
  name         = "${var.name}-database"
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = aws_iam_role.backup.arn
  resources    = var.resource_arns
}

resource "aws_backup_vault_notifications" "this" {
  count = var.notification_topic_arn == null ? 0 : 1

  backup_vault_name   = aws_backup_vault.this.name
  sns_topic_arn       = var.notification_topic_arn
  backup_vault_events = ["BACKUP_JOB_FAILED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED", "S3_BACKUP_OBJECT_FAILED"]
}
