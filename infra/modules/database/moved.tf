# State moves from before the key went to modules/kms-key (the one definition
# of a CloudWatch Logs-capable key, shared with service, network and
# frontend). Keep them until every state has applied this once.

moved {
  from = aws_kms_key.this
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.this
  to   = module.key.aws_kms_alias.this[0]
}
