output "id" {
  description = "Bucket name (access_logs.bucket of an ALB, target_bucket of S3 server access logging)."
  value       = aws_s3_bucket.this.id
}

output "bucket_domain_name" {
  description = "Bucket domain name (logging_config.bucket of a CloudFront distribution)."
  value       = aws_s3_bucket.this.bucket_domain_name
}
