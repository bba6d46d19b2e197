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
