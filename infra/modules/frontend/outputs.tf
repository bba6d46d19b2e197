output "bucket_name" {
  description = "Bucket that scripts/deploy-web.sh uploads dist/ to."
  value       = aws_s3_bucket.web.id
}

output "bucket_arn" {
  description = "ARN of the web bucket (for the deploy role's policy)."
  value       = aws_s3_bucket.web.arn
}

output "distribution_id" {
  description = "CloudFront distribution to invalidate after a deploy."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "ARN of the distribution (for the deploy role's invalidation permission)."
  value       = aws_cloudfront_distribution.this.arn
}

output "distribution_domain_name" {
  description = "CloudFront domain name (alias the app host name to it)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "kms_key_arn" {
  description = "KMS key of the web bucket (the deploy role encrypts uploads with it)."
  value       = aws_kms_key.this.arn
}

output "content_security_policy" {
  description = "The CSP the distribution sends, for review in plans."
  value       = local.csp
}
