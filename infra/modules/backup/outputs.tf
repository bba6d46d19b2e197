output "vault_name" {
  description = "Backup vault holding the recovery points (docs/runbooks/restore.md)."
  value       = aws_backup_vault.this.name
}

output "vault_arn" {
  description = "ARN of the backup vault."
  value       = aws_backup_vault.this.arn
}

output "replica_vault_arn" {
  description = "ARN of the cross-region copy vault, or null."
  value       = var.copy_to_replica_region ? aws_backup_vault.replica[0].arn : null
}

output "plan_id" {
  description = "ID of the backup plan."
  value       = aws_backup_plan.this.id
}
