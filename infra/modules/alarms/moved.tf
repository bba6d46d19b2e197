# State moves from before the single-metric alarms were one for_each resource
# (keys: the alarm name after "<name>-"). Moved blocks take no for_each: the
# target group keys are those of modules/service's target_group_arn_suffixes.
# Keep them until every state has applied this once.

moved {
  from = aws_cloudwatch_metric_alarm.alb_p95_latency["grpc"]
  to   = aws_cloudwatch_metric_alarm.this["alb-p95-latency-grpc"]
}

moved {
  from = aws_cloudwatch_metric_alarm.alb_p95_latency["http1"]
  to   = aws_cloudwatch_metric_alarm.this["alb-p95-latency-http1"]
}

moved {
  from = aws_cloudwatch_metric_alarm.alb_unhealthy_targets["grpc"]
  to   = aws_cloudwatch_metric_alarm.this["alb-unhealthy-grpc"]
}

moved {
  from = aws_cloudwatch_metric_alarm.alb_unhealthy_targets["http1"]
  to   = aws_cloudwatch_metric_alarm.this["alb-unhealthy-http1"]
}

moved {
  from = aws_cloudwatch_metric_alarm.ecs["cpu"]
  to   = aws_cloudwatch_metric_alarm.this["ecs-cpu"]
}

moved {
  from = aws_cloudwatch_metric_alarm.ecs["memory"]
  to   = aws_cloudwatch_metric_alarm.this["ecs-memory"]
}

moved {
  from = aws_cloudwatch_metric_alarm.rds_cpu
  to   = aws_cloudwatch_metric_alarm.this["rds-cpu"]
}

moved {
  from = aws_cloudwatch_metric_alarm.rds_connections
  to   = aws_cloudwatch_metric_alarm.this["rds-connections"]
}

moved {
  from = aws_cloudwatch_metric_alarm.rds_free_storage
  to   = aws_cloudwatch_metric_alarm.this["rds-free-storage"]
}
