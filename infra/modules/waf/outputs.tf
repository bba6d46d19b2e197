output "web_acl_arn" {
  description = "ARN of the web ACL (CloudFront web_acl_id, or the ALB association)."
  value       = aws_wafv2_web_acl.this.arn
}
