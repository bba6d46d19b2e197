# State move from before the flow-log key went to modules/kms-key (shared with
# database, service and frontend). Keep it until every state has applied this
# once.

moved {
  from = aws_kms_key.logs
  to   = module.logs_key.aws_kms_key.this
}
