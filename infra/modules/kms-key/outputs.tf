output "arn" {
  description = "ARN of the key (log groups' kms_key_id, RDS, Secrets Manager, ECR encryption)."
  value       = aws_kms_key.this.arn
}
