output "web_repository_url" {
  description = "ECR repository for review web images."
  value       = aws_ecr_repository.web.repository_url
}

output "execution_role_arn" {
  description = "Execution role of the review tasks."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "Log group of the review tasks."
  value       = aws_cloudwatch_log_group.review.name
}

output "domain" {
  description = "Parent domain of the review apps."
  value       = var.domain
}
