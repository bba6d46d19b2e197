# A bucket that an AWS service delivers access logs into: private, versioned,
# SSE-S3, TLS only, expired after a retention period. The caller names the one
# service principal that writes into it (the policy's first statement), and
# whether that service delivers through the bucket ACL (CloudFront standard
# logging still does): only then are ACLs kept, else they are disabled.
#
# Used for the ALB's access logs (modules/service) and for CloudFront's
# standard logs and the web bucket's server access logs (modules/frontend).

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Access logs are diagnostics; cross-region replication would double cost for no recovery value.
  #checkov:skip=CKV_AWS_145:Log delivery supports only SSE-S3, not SSE-KMS: ALB access logs, and CloudFront standard logs written with the awslogsdelivery account, which cannot use a customer-managed KMS key.
  #checkov:skip=CKV_AWS_18:This is the log bucket; logging it into itself would loop.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events for access logs.
  bucket_prefix = var.bucket_prefix
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = var.log_delivery_acl ? "BucketOwnerPreferred" : "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_acl" "log_delivery" {
  count      = var.log_delivery_acl ? 1 : 0
  bucket     = aws_s3_bucket.this.id
  acl        = "log-delivery-write"
  depends_on = [aws_s3_bucket_ownership_controls.this]
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = var.delivery.sid
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${var.delivery.key_pattern}"]
    principals {
      type        = "Service"
      identifiers = [var.delivery.service]
    }
    dynamic "condition" {
      for_each = var.delivery.conditions
      content {
        test     = condition.value.test
        variable = condition.value.variable
        values   = condition.value.values
      }
    }
  }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json
}
