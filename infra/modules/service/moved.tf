# State moves from before the web ACL and its logs went to modules/waf. Keep
# them until every state has applied this once.

moved {
  from = aws_wafv2_web_acl.alb
  to   = module.waf.aws_wafv2_web_acl.this
}

moved {
  from = aws_cloudwatch_log_group.waf
  to   = module.waf.aws_cloudwatch_log_group.this
}

moved {
  from = aws_wafv2_web_acl_logging_configuration.alb
  to   = module.waf.aws_wafv2_web_acl_logging_configuration.this
}

# State moves from before the ALB's access-log bucket went to
# modules/log-bucket (shared with the frontend's logs bucket). Keep them until
# every state has applied this once.

moved {
  from = aws_s3_bucket.alb_logs
  to   = module.alb_logs.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.alb_logs
  to   = module.alb_logs.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.alb_logs
  to   = module.alb_logs.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.alb_logs
  to   = module.alb_logs.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.alb_logs
  to   = module.alb_logs.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.alb_logs
  to   = module.alb_logs.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.alb_logs
  to   = module.alb_logs.aws_s3_bucket_policy.this
}

# State moves from before the key went to modules/kms-key (shared with
# database, network and frontend). Keep them until every state has applied
# this once.

moved {
  from = aws_kms_key.this
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.this
  to   = module.key.aws_kms_alias.this[0]
}

# State moves from before the two target groups were one for_each resource
# (keys: those of target_group_arn_suffixes). Keep them until every state has
# applied this once.

moved {
  from = aws_lb_target_group.grpc
  to   = aws_lb_target_group.this["grpc"]
}

moved {
  from = aws_lb_target_group.http1
  to   = aws_lb_target_group.this["http1"]
}
