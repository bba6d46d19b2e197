# A customer-managed KMS key (yearly rotation, 30-day deletion window) that the
# account administers through IAM and that CloudWatch Logs in the provider's
# region may use for this account's log groups (limited by the encryption
# context). Other services use it through their callers' IAM policies (RDS,
# Secrets Manager, ECR, ECS Exec): the description says what it is for.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:Key policy: resource "*" is this key only, and the account-root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:Key policy: resource "*" is this key only; the logs service is limited by the encryption-context condition.
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

  statement {
    sid       = "CloudWatchLogsUse"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.this.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count         = var.alias == null ? 0 : 1
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
