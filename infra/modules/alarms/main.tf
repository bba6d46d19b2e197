# CloudWatch alarms on the AWS side of the service, to an encrypted SNS topic.
# gRPC status codes are invisible to the ALB (errors travel in trailers with
# HTTP 200): the SLO burn-rate alerts on grpc_server_handled_total live in
# observability/ (Prometheus); these alarms cover what only AWS sees.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  actions    = [aws_sns_topic.alarms.arn]
  runbook    = "${trimsuffix(var.runbook_base_url, "/")}/incident-response.md"
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: resource "*" is this key only, and the account-root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:Key policy: resource "*" is this key only; services are limited to this account by SourceAccount.
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
    sid       = "PublishersEncrypt"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "backup.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} alarm notifications"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAndBackupPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "backup.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.email_subscriptions)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_subscription" "https" {
  for_each               = toset(var.https_subscriptions)
  topic_arn              = aws_sns_topic.alarms.arn
  protocol               = "https"
  endpoint               = each.value
  endpoint_auto_confirms = true
}

# ---- ALB 5xx ratio (metric math over three ALB metrics) ------------------------------

resource "aws_cloudwatch_metric_alarm" "alb_5xx_ratio" {
  alarm_name          = "${var.name}-alb-5xx-ratio"
  alarm_description   = "More than ${var.thresholds.alb_5xx_ratio * 100}% of API requests got an HTTP 5xx (ALB or target) for 5 of 10 minutes. Runbook: ${local.runbook}#alb-5xx-ratio"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.thresholds.alb_5xx_ratio
  evaluation_periods  = 10
  datapoints_to_alarm = 5
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "ratio"
    expression  = "(FILL(elb5xx, 0) + FILL(target5xx, 0)) / IF(requests > 0, requests, 1)"
    label       = "5xx ratio"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = {
      elb5xx    = "HTTPCode_ELB_5XX_Count"
      target5xx = "HTTPCode_Target_5XX_Count"
      requests  = "RequestCount"
    }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = metric_query.value
        dimensions  = { LoadBalancer = var.alb_arn_suffix }
        period      = 60
        stat        = "Sum"
      }
    }
  }

  tags = var.tags
}

# ---- single-metric alarms: ALB per target group, ECS, RDS ----------------------------

locals {
  alb      = { namespace = "AWS/ApplicationELB", period = 60, treat_missing_data = "notBreaching" }
  ecs      = { namespace = "AWS/ECS", period = 300, treat_missing_data = "breaching", dimensions = { ClusterName = var.ecs_cluster_name, ServiceName = var.ecs_service_name } }
  rds      = { namespace = "AWS/RDS", period = 300, treat_missing_data = "breaching", dimensions = { DBInstanceIdentifier = var.db_instance_identifier } }
  optional = { statistic = null, extended_statistic = null, datapoints_to_alarm = null, comparison_operator = "GreaterThanThreshold" }

  ecs_metrics = {
    cpu    = { metric_name = "CPUUtilization", threshold = var.thresholds.ecs_cpu_percent }
    memory = { metric_name = "MemoryUtilization", threshold = var.thresholds.ecs_memory_percent }
  }

  # By alarm name after "<name>-"; each names its runbook section in the description.
  alarm_definitions = merge(
    { for tg, suffix in var.target_group_arn_suffixes : "alb-p95-latency-${tg}" => merge(local.alb, {
      description         = "p95 target response time of the ${tg} target group above ${var.thresholds.p95_latency_seconds}s for 10 minutes. Runbook: ${local.runbook}#alb-p95-latency"
      metric_name         = "TargetResponseTime"
      dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = suffix }
      extended_statistic  = "p95"
      evaluation_periods  = 10
      datapoints_to_alarm = 10
      threshold           = var.thresholds.p95_latency_seconds
    }) },
    { for tg, suffix in var.target_group_arn_suffixes : "alb-unhealthy-${tg}" => merge(local.alb, {
      description        = "Targets of the ${tg} group failing health checks for 5 minutes. Runbook: ${local.runbook}#alb-unhealthy-targets"
      metric_name        = "UnHealthyHostCount"
      dimensions         = { LoadBalancer = var.alb_arn_suffix, TargetGroup = suffix }
      statistic          = "Maximum"
      evaluation_periods = 5
      threshold          = 0
    }) },
    { for kind, metric in local.ecs_metrics : "ecs-${kind}" => merge(local.ecs, metric, {
      description        = "Average ${kind} of the server tasks above ${metric.threshold}% for 15 minutes (autoscaling at its ceiling?). Runbook: ${local.runbook}#ecs-${kind}"
      statistic          = "Average"
      evaluation_periods = 3
    }) },
    {
      "rds-cpu" = merge(local.rds, {
        description        = "Database CPU above ${var.thresholds.rds_cpu_percent}% for 15 minutes. Runbook: ${local.runbook}#rds-cpu"
        metric_name        = "CPUUtilization"
        statistic          = "Average"
        evaluation_periods = 3
        threshold          = var.thresholds.rds_cpu_percent
      })
      "rds-connections" = merge(local.rds, {
        description        = "More than ${var.thresholds.rds_connections} database connections for 10 minutes (pool leak or runaway scaling). Runbook: ${local.runbook}#rds-connections"
        metric_name        = "DatabaseConnections"
        statistic          = "Maximum"
        evaluation_periods = 2
        threshold          = var.thresholds.rds_connections
      })
      "rds-free-storage" = merge(local.rds, {
        description         = "Less than ${floor(var.thresholds.rds_free_storage_bytes / 1073741824)} GiB free on the database volume (storage autoscaling at its ceiling?). Runbook: ${local.runbook}#rds-free-storage"
        metric_name         = "FreeStorageSpace"
        statistic           = "Minimum"
        evaluation_periods  = 1
        threshold           = var.thresholds.rds_free_storage_bytes
        comparison_operator = "LessThanThreshold"
      })
    },
  )

  alarms = { for key, alarm in local.alarm_definitions : key => merge(local.optional, alarm) }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison_operator
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}
