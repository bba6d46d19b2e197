output "alb_dns_name" {
  description = "DNS name of the API load balancer (alias the API host name to it)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Route 53 zone of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "alb_arn_suffix" {
  description = "ARN suffix of the ALB, the CloudWatch dimension LoadBalancer."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn_suffixes" {
  description = "ARN suffixes of the GRPC and HTTP1 target groups (CloudWatch dimension TargetGroup)."
  value       = { for key, tg in aws_lb_target_group.this : key => tg.arn_suffix }
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.server.name
}

output "task_definition_arn" {
  description = "Task definition revision now deployed (the rollback runbook starts from it)."
  value       = aws_ecs_task_definition.server.arn
}

output "task_definition_family" {
  description = "Task definition family (for aws ecs run-task of the migrate subcommand)."
  value       = aws_ecs_task_definition.server.family
}

output "tasks_security_group_id" {
  description = "Security group of the tasks (for one-off tasks such as migrate)."
  value       = aws_security_group.tasks.id
}

output "private_subnet_ids" {
  description = "Subnets the tasks run in (for one-off tasks)."
  value       = var.private_subnet_ids
}

output "ecr_repository_url" {
  description = "ECR repository the deploy copies the signed image into."
  value       = aws_ecr_repository.server.repository_url
}

output "database_url_secret_arn" {
  description = "Secret to fill with DATABASE_URL at bootstrap."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the server."
  value       = aws_cloudwatch_log_group.server.name
}

output "https_listener_arn" {
  description = "HTTPS listener of the ALB (review apps add host-based rules and certificates to it)."
  value       = aws_lb_listener.https.arn
}

output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.alb.id
}

output "vpc_id" {
  description = "VPC of the service."
  value       = var.vpc_id
}

output "token_secret_arn" {
  description = "Secret holding TASKTRACKER_TOKEN_SECRET."
  value       = aws_secretsmanager_secret.token_secret.arn
}

output "kms_key_arn" {
  description = "KMS key of the service's logs, secrets and image repository."
  value       = module.key.arn
}

output "ecr_repository_arn" {
  description = "ARN of the server image repository."
  value       = aws_ecr_repository.server.arn
}
