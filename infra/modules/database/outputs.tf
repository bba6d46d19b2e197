output "instance_arn" {
  description = "ARN of the RDS instance (the AWS Backup selection)."
  value       = aws_db_instance.this.arn
}

output "instance_identifier" {
  description = "RDS instance identifier (CloudWatch dimension DBInstanceIdentifier; PITR and snapshot source)."
  value       = aws_db_instance.this.identifier
}

output "address" {
  description = "Host name of the database endpoint."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Database port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the application database."
  value       = aws_db_instance.this.db_name
}

output "security_group_id" {
  description = "Security group of the database (consumers add their ingress rule)."
  value       = aws_security_group.this.id
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret RDS manages for the master user (bootstrap and break-glass only)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "kms_key_arn" {
  description = "KMS key of the database storage and snapshots (AWS Backup copies need it)."
  value       = module.key.arn
}
