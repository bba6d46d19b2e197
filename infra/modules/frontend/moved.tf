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
