output "api_url" {
  description = "gRPC / gRPC-web endpoint."
  value       = "https://${var.api_domain}"
}

output "app_url" {
  description = "Web app URL."
  value       = "https://${var.app_domain}"
}

output "web_bucket" {
  description = "Bucket for scripts/deploy-web.sh."
  value       = module.frontend.bucket_name
}

output "cloudfront_distribution_id" {
  description = "Distribution for scripts/deploy-web.sh."
  value       = module.frontend.distribution_id
}

output "ecr_repository_url" {
  description = "Where the deploy copies the signed server image."
  value       = module.service.ecr_repository_url
}

output "ecs_cluster" {
  description = "ECS cluster name."
  value       = module.service.cluster_name
}

output "ecs_service" {
  description = "ECS service name."
  value       = module.service.service_name
}

output "task_definition_arn" {
  description = "Task definition revision deployed by this apply."
  value       = module.service.task_definition_arn
}

output "task_definition_family" {
  description = "Task definition family (rollback and one-off migrate tasks)."
  value       = module.service.task_definition_family
}

output "migrate_network_configuration" {
  description = "awsvpcConfiguration for one-off tasks (aws ecs run-task --network-configuration)."
  value = jsonencode({
    awsvpcConfiguration = {
      subnets        = module.service.private_subnet_ids
      securityGroups = [module.service.tasks_security_group_id]
      assignPublicIp = "DISABLED"
    }
  })
}

output "database_instance" {
  description = "RDS instance identifier (restore runbook)."
  value       = module.database.instance_identifier
}

output "database_master_secret_arn" {
  description = "RDS-managed master user secret (bootstrap and break-glass)."
  value       = module.database.master_user_secret_arn
}

output "database_url_secret_arn" {
  description = "Secret holding the application's DATABASE_URL."
  value       = module.service.database_url_secret_arn
}

output "backup_vault" {
  description = "AWS Backup vault name (restore runbook)."
  value       = module.backup.vault_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.alarms.topic_arn
}
