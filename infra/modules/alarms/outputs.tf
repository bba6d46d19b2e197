output "topic_arn" {
  description = "SNS topic every alarm (and AWS Backup failure) notifies."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of all alarms, for dashboards and runbooks."
  value = concat(
    [aws_cloudwatch_metric_alarm.alb_5xx_ratio.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.alb_p95_latency : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.alb_unhealthy_targets : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.ecs : a.alarm_name],
    [aws_cloudwatch_metric_alarm.rds_cpu.alarm_name],
    [aws_cloudwatch_metric_alarm.rds_connections.alarm_name],
    [aws_cloudwatch_metric_alarm.rds_free_storage.alarm_name],
  )
}
