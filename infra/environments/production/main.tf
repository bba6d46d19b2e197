# Production: the modules composed with this environment's values. Nothing here but
# wiring; behaviour lives in ../../modules.

locals {
  name = "tasktracker-${var.environment}"
}

data "aws_route53_zone" "this" {
  name         = var.route53_zone_name
  private_zone = false
}

# Certificates are issued (DNS-validated) outside this stack and looked up by
# name, so no ARN is committed.
data "aws_acm_certificate" "api" {
  domain      = var.api_domain
  statuses    = ["ISSUED"]
  most_recent = true
}

data "aws_acm_certificate" "app" {
  provider    = aws.us_east_1
  domain      = var.app_domain
  statuses    = ["ISSUED"]
  most_recent = true
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
}

module "database" {
  source = "../../modules/database"

  name                  = local.name
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.database_subnet_ids
  instance_class        = var.database.instance_class
  multi_az              = var.database.multi_az
  backup_retention_days = var.database.backup_retention_days
  storage = {
    allocated_gb     = var.database.allocated_gb
    max_allocated_gb = var.database.max_allocated_gb
  }
}

module "service" {
  source = "../../modules/service"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  public_subnet_ids          = module.network.public_subnet_ids
  private_subnet_ids         = module.network.private_subnet_ids
  certificate_arn            = data.aws_acm_certificate.api.arn
  image                      = var.image
  task                       = var.task
  database_security_group_id = module.database.security_group_id
  cors_origins               = ["https://${var.app_domain}"]
  enable_execute_command     = var.enable_execute_command
  environment = {
    OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4317"
  }
}

module "frontend" {
  source = "../../modules/frontend"
  providers = {
    aws = aws
    aws.us_east_1 = aws.us_east_1
  }

  name              = local.name
  domain_name       = var.app_domain
  certificate_arn   = data.aws_acm_certificate.app.arn
  api_origin        = "https://${var.api_domain}"
  csp_script_hashes = var.csp_script_hashes
}

module "alarms" {
  source = "../../modules/alarms"

  name                      = local.name
  runbook_base_url          = var.runbook_base_url
  alb_arn_suffix            = module.service.alb_arn_suffix
  target_group_arn_suffixes = module.service.target_group_arn_suffixes
  ecs_cluster_name          = module.service.cluster_name
  ecs_service_name          = module.service.service_name
  db_instance_identifier    = module.database.instance_identifier
  email_subscriptions       = var.alarm_emails
  https_subscriptions       = var.alarm_https_endpoints
}

module "backup" {
  source = "../../modules/backup"
  providers = {
    aws = aws
    aws.replica = aws.backup_replica
  }

  name                   = local.name
  resource_arns          = [module.database.instance_arn]
  daily_retention_days   = var.backup.daily_retention_days
  monthly_retention_days = var.backup.monthly_retention_days
  copy_to_replica_region = var.backup.copy_to_replica_region
  vault_lock = var.backup.vault_lock ? {
    min_retention_days = 7
    max_retention_days = var.backup.monthly_retention_days
  } : null
  notification_topic_arn = module.alarms.topic_arn
}

resource "aws_route53_record" "api" {
  for_each = toset(["A", "AAAA"])

  zone_id = data.aws_route53_zone.this.zone_id
  name    = var.api_domain
  type    = each.value

  alias {
    name                   = module.service.alb_dns_name
    zone_id                = module.service.alb_zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "app" {
  for_each = toset(["A", "AAAA"])

  zone_id = data.aws_route53_zone.this.zone_id
  name    = var.app_domain
  type    = each.value

  alias {
    name                   = module.frontend.distribution_domain_name
    zone_id                = "Z2FDTNDATAQYW2" # CloudFront's fixed hosted zone
    evaluate_target_health = false
  }
}
