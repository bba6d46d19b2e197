# Shared plumbing for per-merge-request review apps on the staging ECS
# cluster and ALB. The per-MR pieces (task definitions, services, target
# groups, listener rules) are created and destroyed by scripts/review-app.sh
# from the pipeline, since their lifetime is the merge request's, not this
# stack's. Each review app has its own throwaway PostgreSQL sidecar.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_acm_certificate" "wildcard" {
  domain      = "*.${var.domain}"
  statuses    = ["ISSUED"]
  most_recent = true
}

resource "aws_lb_listener_certificate" "wildcard" {
  listener_arn    = var.listener_arn
  certificate_arn = data.aws_acm_certificate.wildcard.arn
}

resource "aws_route53_record" "wildcard" {
  for_each = toset(["A", "AAAA"])

  zone_id = var.route53_zone_id
  name    = "*.${var.domain}"
  type    = each.value

  alias {
    name                   = var.alb_dns_name
    zone_id                = var.alb_zone_id
    evaluate_target_health = false
  }
}

resource "aws_ecr_repository" "web" {
  name                 = "${var.name}/review-web"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "web" {
  repository = aws_ecr_repository.web.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Review images live two weeks"
      selection    = { tagStatus = "any", countType = "sinceImagePushed", countUnit = "days", countNumber = 14 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_cloudwatch_log_group" "review" {
  #checkov:skip=CKV_AWS_338:Review apps hold throwaway data and live as long as a merge request; a year of their logs has no audit value.
  name              = "/ecs/${var.name}/review-apps"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-review-exec-"
  description        = "ECS agent for review apps: pull, logs, the token secret"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # not resource-scoped by AWS
  }
  statement {
    sid       = "EcrPull"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [var.server_repository_arn, aws_ecr_repository.web.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.review.arn}:*"]
  }
  statement {
    sid       = "TokenSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.token_secret_arn]
  }
  statement {
    sid       = "Decrypt"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "secretsmanager.${data.aws_region.current.region}.amazonaws.com",
        "ecr.${data.aws_region.current.region}.amazonaws.com",
      ]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-logs-secret"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}
