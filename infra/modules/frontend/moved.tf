# State moves from before the web ACL and its logs went to modules/waf (the
# us-east-1 provider still creates them). Keep them until every state has
# applied this once.

moved {
  from = aws_wafv2_web_acl.this
  to   = module.waf.aws_wafv2_web_acl.this
}

moved {
  from = aws_cloudwatch_log_group.waf
  to   = module.waf.aws_cloudwatch_log_group.this
}

moved {
  from = aws_wafv2_web_acl_logging_configuration.this
  to   = module.waf.aws_wafv2_web_acl_logging_configuration.this
}

# State moves from before the logs bucket went to modules/log-bucket (shared
# with the ALB's access logs in modules/service). Keep them until every state
# has applied this once.

moved {
  from = aws_s3_bucket.logs
  to   = module.logs.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.logs
  to   = module.logs.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_acl.logs
  to   = module.logs.aws_s3_bucket_acl.log_delivery[0]
}

moved {
  from = aws_s3_bucket_public_access_block.logs
  to   = module.logs.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.logs
  to   = module.logs.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.logs
  to   = module.logs.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.logs
  to   = module.logs.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.logs
  to   = module.logs.aws_s3_bucket_policy.this
}

# State move from before the WAF log key went to modules/kms-key (shared with
# database, service and network; still created by the us-east-1 provider).
# Keep it until every state has applied this once.

moved {
  from = aws_kms_key.waf_logs
  to   = module.waf_logs_key.aws_kms_key.this
}
