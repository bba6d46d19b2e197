output "topic_arn" {
  description = "SNS topic every alarm (and AWS Backup failure) notifies."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of all alarms, for dashboards and runbooks."
  value = concat(
    [aws_cloudwatch_metric_alarm.alb_5xx_ratio.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.this : a.alarm_name],
  )
}
