variable "name" {
  description = "Name prefix for every resource, e.g. tasktracker-production."
  type        = string
}

variable "runbook_base_url" {
  description = "Where docs/runbooks is browsable (each alarm description links its section)."
  type        = string
}

variable "alb_arn_suffix" {
  description = "LoadBalancer dimension of the API ALB."
  type        = string
}

variable "target_group_arn_suffixes" {
  description = "TargetGroup dimensions of the API target groups, by name (grpc, http1)."
  type        = map(string)
}

variable "ecs_cluster_name" {
  description = "ECS cluster of the service."
  type        = string
}

variable "ecs_service_name" {
  description = "ECS service name."
  type        = string
}

variable "db_instance_identifier" {
  description = "RDS instance identifier."
  type        = string
}

variable "thresholds" {
  description = "Alarm thresholds; defaults follow the SLO (99.9% of calls succeed, p95 < 200 ms)."
  type = object({
    alb_5xx_ratio          = optional(number, 0.01)
    p95_latency_seconds    = optional(number, 0.2)
    ecs_cpu_percent        = optional(number, 80)
    ecs_memory_percent     = optional(number, 80)
    rds_cpu_percent        = optional(number, 80)
    rds_connections        = optional(number, 200)
    rds_free_storage_bytes = optional(number, 10737418240)
  })
  default = {}
}

variable "email_subscriptions" {
  description = "E-mail addresses subscribed to the alarm topic (confirmations are sent by SNS)."
  type        = list(string)
  default     = []
}

variable "https_subscriptions" {
  description = "HTTPS endpoints (e.g. the on-call tool's CloudWatch integration) subscribed to the topic."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags merged into every resource (the provider adds the default tags)."
  type        = map(string)
  default     = {}
}
