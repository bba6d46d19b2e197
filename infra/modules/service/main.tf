# ECS Fargate service behind an internet-facing ALB.
#
# One container port (8080) serves native gRPC (HTTP/2) and gRPC-web
# (HTTP/1.1). An ALB target group with protocol_version = "GRPC" answers
# HTTP/1.1 requests with 464, so the tasks register in two target groups on
# the same port: GRPC for native clients and HTTP1 for gRPC-web, CORS
# preflights and anything CloudFront forwards. Listener rules pick by
# content-type: application/grpc-web* first (it also matches application/grpc*),
# then application/grpc* to the GRPC group, everything else to HTTP1.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  container  = "server"
  port       = 8080
  metrics    = 9464

  server_environment = merge({
    TASKTRACKER_LISTEN_ADDR  = "0.0.0.0:${local.port}"
    TASKTRACKER_METRICS_ADDR = "0.0.0.0:${local.metrics}"
    TASKTRACKER_LOG_FORMAT   = "json"
    TASKTRACKER_CORS_ORIGINS = join(",", var.cors_origins)
    # The ALB's nodes live in the VPC: believe their X-Forwarded-For, so
    # logs and per-address sign-in limits see the real client.
    TASKTRACKER_TRUSTED_PROXIES = data.aws_vpc.this.cidr_block
    TASKTRACKER_DATA_DIR        = "/tmp/tasktracker-data"
    # Migrations run once per deploy as a one-off task (scripts/ecs-migrate.sh),
    # never concurrently from every starting replica.
    TASKTRACKER_AUTO_MIGRATE = "false"
    RUST_LOG                 = "info"
  }, var.environment)
}

# ---- KMS: container logs and the application secrets ------------------------

module "key" {
  source = "../kms-key"

  description = "${var.name} service: container logs and application secrets"
  alias       = "${var.name}-service"
  tags        = var.tags
}

# ---- application secrets (values never in the repo, the image or the state) --

# DATABASE_URL of the application role. Terraform creates the container only;
# the value is written once at bootstrap (docs/operations.md), so the password
# never passes through Terraform state.
resource "aws_secretsmanager_secret" "database_url" {
  #checkov:skip=CKV2_AWS_57:Rotated by the documented runbook (new role password, put-secret-value, rolling restart); a Lambda rotator for a URL-shaped secret is not worth its risk here.
  name_prefix             = "${var.name}/database-url-"
  description             = "DATABASE_URL (postgres://…?sslmode=verify-full) for the tasktracker application role"
  kms_key_id              = module.key.arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

# Token-signing secret: generated as an ephemeral value and written with a
# write-only argument, so it exists only in Secrets Manager.
ephemeral "random_password" "token_secret" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "token_secret" {
  #checkov:skip=CKV2_AWS_57:Rotation = bump token_secret_version and redeploy; rotating it signs everyone out, so it is a deliberate operator action, not a schedule.
  name_prefix             = "${var.name}/token-secret-"
  description             = "TASKTRACKER_TOKEN_SECRET: signs access and refresh tokens"
  kms_key_id              = module.key.arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "token_secret" {
  secret_id                = aws_secretsmanager_secret.token_secret.id
  secret_string_wo         = ephemeral.random_password.token_secret.result
  secret_string_wo_version = var.token_secret_version
}

# ---- image registry -------------------------------------------------------------

resource "aws_ecr_repository" "server" {
  name                 = "${var.name}/server"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.key.arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "server" {
  repository = aws_ecr_repository.server.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 50 images (rollback targets)"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 50 }
      action       = { type = "expire" }
    }]
  })
}

# ---- logs -------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "server" {
  name              = "/ecs/${var.name}/server"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "exec" {
  name              = "/ecs/${var.name}/exec-audit"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn
  tags              = var.tags
}

# ---- IAM: execution role (pull, logs, secrets) apart from the task role (app) ----

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  description        = "ECS agent: pull the image, write logs, read the task's secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
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
    resources = [aws_ecr_repository.server.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.server.arn}:*"]
  }
  statement {
    sid       = "Secrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.database_url.arn, aws_secretsmanager_secret.token_secret.arn]
  }
  statement {
    sid       = "DecryptSecretsAndImage"
    actions   = ["kms:Decrypt"]
    resources = [module.key.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com", "ecr.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-logs-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  name_prefix        = "${var.name}-task-"
  description        = "The tasktracker server itself: no AWS permissions beyond ECS Exec when enabled"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "task_exec" {
  statement {
    sid = "EcsExecChannels"
    actions = [
      "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"] # session channels have no ARN
  }
  statement {
    sid       = "EcsExecAudit"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.exec.arn}:*"]
  }
  statement {
    sid       = "EcsExecAuditEncryption"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [module.key.arn]
  }
}

resource "aws_iam_role_policy" "task_exec" {
  count  = var.enable_execute_command ? 1 : 0
  name   = "ecs-exec"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_exec.json
}

# ---- security groups ---------------------------------------------------------------

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "Internet-facing API load balancer"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS (gRPC and gRPC-web) from anywhere"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers with a 301 to HTTPS (aws_lb_listener.http); nothing is served over plain HTTP.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from anywhere, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the tasks' gRPC port"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "tasks" {
  name_prefix = "${var.name}-tasks-"
  description = "tasktracker-server tasks"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-tasks" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "gRPC and gRPC-web from the ALB"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_metrics" {
  for_each = toset(var.metrics_source_security_group_ids)

  security_group_id            = aws_security_group.tasks.id
  description                  = "Prometheus scrape of /metrics (never routed by the ALB)"
  ip_protocol                  = "tcp"
  from_port                    = local.metrics
  to_port                      = local.metrics
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to VPC endpoints and AWS APIs (ECR, logs, secrets, OTLP)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_database" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.database_security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_tasks" {
  security_group_id            = var.database_security_group_id
  description                  = "PostgreSQL from the ${var.name} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.tasks.id
}

# ---- ALB ------------------------------------------------------------------------------

module "alb_logs" {
  source = "../log-bucket"

  bucket_prefix  = "${var.name}-alb-logs-"
  retention_days = 400
  delivery = {
    sid         = "AlbLogDelivery"
    service     = "logdelivery.elasticloadbalancing.amazonaws.com"
    key_pattern = "alb/AWSLogs/${local.account_id}/*"
  }
  tags = var.tags
}

resource "aws_lb" "this" {
  name                       = "${var.name}-api"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "defensive"
  enable_deletion_protection = var.alb_deletion_protection
  enable_http2               = true
  # Default 60 s. The ALB does not count HTTP/2 PINGs as activity: WatchTasks
  # streams send an application heartbeat well inside this window.
  idle_timeout = 60

  access_logs {
    bucket  = module.alb_logs.id
    prefix  = "alb"
    enabled = true
  }

  tags       = var.tags
  depends_on = [module.alb_logs] # the delivery policy first
}

# The two target groups on the one port (see the top of this file): GRPC for
# native clients, health-checked with grpc.health.v1 (status 0 = OK; the API
# default is 12); HTTP1 for gRPC-web and the rest. HTTP/1.1 cannot speak the
# gRPC health protocol: a plain GET of the health path proves the HTTP/1.1
# stack answers (tonic replies with a gRPC error status); database readiness
# is judged by the GRPC group and the container health check, which use
# grpc.health.v1.
locals {
  target_groups = {
    grpc  = { name_prefix = "grpc-", protocol_version = "GRPC", matcher = "0", name = "${var.name}-grpc" }
    http1 = { name_prefix = "web-", protocol_version = "HTTP1", matcher = "200-499", name = "${var.name}-grpc-web" }
  }
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the HTTPS listener; the ALB reaches the tasks in private subnets over h2c, which is what the server speaks (both groups; checkov sees only the HTTP1 group behind the HTTPS listener, by its default action, not the GRPC group behind its listener rule).
  for_each = local.target_groups

  name_prefix          = each.value.name_prefix
  port                 = local.port
  protocol             = "HTTP"
  protocol_version     = each.value.protocol_version
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay_seconds

  health_check {
    enabled             = true
    path                = "/grpc.health.v1.Health/Check"
    matcher             = each.value.matcher
    protocol            = "HTTP"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = each.value.name })

  # protocol_version forces replacement; the listener rule must move first.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["http1"].arn
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

# Order matters: grpc-web first, because "application/grpc*" matches it too.
# High numbers (evaluated last) leave 1-48999 to host-based rules such as the
# review apps' (modules/review-apps).
resource "aws_lb_listener_rule" "grpc_web" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 49000

  condition {
    http_header {
      http_header_name = "content-type"
      values           = ["application/grpc-web*"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["http1"].arn
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "grpc" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 49001

  condition {
    http_header {
      http_header_name = "content-type"
      values           = ["application/grpc*"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["grpc"].arn
  }

  tags = var.tags
}

# ---- WAF on the ALB ---------------------------------------------------------------------

module "waf" {
  source = "../waf"

  name        = "${var.name}-api"
  description = "API load balancer: AWS managed rules and a per-IP rate limit"
  scope       = "REGIONAL"
  # gRPC and gRPC-web bodies are binary protobuf and may exceed 8 KB.
  common_rule_count_overrides = ["SizeRestrictions_BODY", "CrossSiteScripting_BODY"]
  rate_limit_per_5min         = var.waf_rate_limit_per_5min
  log_kms_key_arn             = module.key.arn
  log_retention_days          = var.log_retention_days
  redacted_headers            = ["authorization"]
  tags                        = var.tags
}

resource "aws_wafv2_web_acl_association" "alb" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = module.waf.web_acl_arn
}

# ---- ECS ------------------------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enhanced"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = module.key.arn
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.exec.name
      }
    }
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "server" {
  family                   = "${var.name}-server"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task.cpu
  memory                   = var.task.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.task.cpu_arch
  }

  # Fargate has no tmpfs: a task volume gives the read-only container a /tmp.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = local.container
    image                  = var.image
    essential              = true
    command                = ["serve"]
    user                   = "65532:65532"
    readonlyRootFilesystem = true
    privileged             = false
    stopTimeout            = var.stop_timeout_seconds

    portMappings = [
      { name = "grpc", containerPort = local.port, protocol = "tcp", appProtocol = "grpc" },
      { name = "metrics", containerPort = local.metrics, protocol = "tcp", appProtocol = "http" },
    ]

    environment = [for k in sort(keys(local.server_environment)) : { name = k, value = local.server_environment[k] }]
    secrets = [
      { name = "DATABASE_URL", valueFrom = aws_secretsmanager_secret.database_url.arn },
      { name = "TASKTRACKER_TOKEN_SECRET", valueFrom = aws_secretsmanager_secret.token_secret.arn },
    ]

    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]

    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { drop = ["ALL"] }
    }

    healthCheck = {
      command     = ["CMD", "/usr/local/bin/tasktracker-server", "healthcheck"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 15
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.server.name
        awslogs-region        = local.region
        awslogs-stream-prefix = local.container
        mode                  = "non-blocking"
        max-buffer-size       = "25m"
      }
    }
  }])

  tags = var.tags
}

resource "aws_ecs_service" "server" {
  name                               = "server"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.server.arn
  desired_count                      = var.task.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  enable_execute_command             = var.enable_execute_command
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  wait_for_steady_state              = true

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = aws_lb_target_group.this
    content {
      target_group_arn = load_balancer.value.arn
      container_name   = local.container
      container_port   = local.port
    }
  }

  lifecycle {
    ignore_changes = [desired_count] # owned by autoscaling after creation
  }

  depends_on = [aws_lb_listener_rule.grpc, aws_lb_listener_rule.grpc_web, aws_iam_role_policy.execution]
  tags       = var.tags
}

# ---- autoscaling: CPU first (streams count once as requests), requests second ----

resource "aws_appautoscaling_target" "server" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.server.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.task.min_count
  max_capacity       = var.task.max_count
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.server.service_namespace
  resource_id        = aws_appautoscaling_target.server.resource_id
  scalable_dimension = aws_appautoscaling_target.server.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  for_each = { for key, tg in aws_lb_target_group.this : key => tg.arn_suffix }

  name               = "${var.name}-requests-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.server.service_namespace
  resource_id        = aws_appautoscaling_target.server.resource_id
  scalable_dimension = aws_appautoscaling_target.server.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.requests_per_target_minute
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${each.value}"
    }
  }
}
