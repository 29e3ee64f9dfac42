output "flow_log_group_arn" {
  value = aws_cloudwatch_log_group.flow.arn
}

output "flow_log_role_arn" {
  value = aws_iam_role.flow.arn
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}
