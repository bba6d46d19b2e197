variable "name" {
  description = "Name prefix for every resource, e.g. tasktracker-staging."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,24}$", var.name))
    error_message = "name must be 3-25 lowercase letters, digits or hyphens (ALB names are limited to 32 characters)."
  }
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing ALB (two AZs)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the Fargate tasks (two AZs, no public IPs)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate (same region) for the API host name on the HTTPS listener."
  type        = string
}

variable "image" {
  description = "Server image as repository@sha256:digest (deploys pin digests, never tags)."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be pinned by digest: <repository>@sha256:<64 hex>."
  }
}

variable "task" {
  description = "Fargate task size and replica bounds. desired_count is the floor autoscaling starts from."
  type = object({
    cpu           = optional(number, 512)
    memory        = optional(number, 1024)
    desired_count = optional(number, 2)
    min_count     = optional(number, 2)
    max_count     = optional(number, 6)
    cpu_arch      = optional(string, "X86_64")
  })
  default = {}

  validation {
    condition     = var.task.min_count >= 2 && var.task.max_count >= var.task.min_count
    error_message = "At least two tasks (one per AZ) so a deploy or an AZ loss never leaves zero replicas."
  }
}

variable "autoscaling" {
  description = "Target-tracking goals: average CPU percent, and ALB requests per target per minute (a stream counts once)."
  type = object({
    cpu_target_percent         = optional(number, 60)
    requests_per_target_minute = optional(number, 3000)
  })
  default = {}
}

variable "health_check_grace_period_seconds" {
  description = "Time after a task starts before ALB health checks count (cold start plus migrations check)."
  type        = number
  default     = 60
}

variable "stop_timeout_seconds" {
  description = "SIGTERM-to-SIGKILL window for graceful shutdown (Fargate allows at most 120)."
  type        = number
  default     = 60

  validation {
    condition     = var.stop_timeout_seconds >= 2 && var.stop_timeout_seconds <= 120
    error_message = "Fargate stopTimeout must be between 2 and 120 seconds."
  }
}

variable "deregistration_delay_seconds" {
  description = "ALB connection draining; about the longest unary call, streams end on SIGTERM."
  type        = number
  default     = 30
}

variable "database_security_group_id" {
  description = "Security group of the database; the tasks get egress to it on 5432."
  type        = string
}

variable "cors_origins" {
  description = "Browser origins allowed to call the API with gRPC-web (the web app's https origin)."
  type        = list(string)
}

variable "environment" {
  description = "Non-secret environment variables for the server (merged over the module's defaults)."
  type        = map(string)
  default     = {}
}

variable "metrics_source_security_group_ids" {
  description = "Security groups (e.g. a Prometheus or ADOT collector) allowed to scrape :9464/metrics."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the container logs."
  type        = number
  default     = 365
}

variable "enable_execute_command" {
  description = "Allow ECS Exec into tasks (audited to CloudWatch Logs); off in production."
  type        = bool
  default     = false
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5min" {
  description = "Requests per source IP per 5 minutes before the ALB WAF blocks it."
  type        = number
  default     = 3000
}

variable "token_secret_version" {
  description = "Bump to generate a new TASKTRACKER_TOKEN_SECRET (signs out every session; see docs/operations.md)."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Extra tags merged into every resource (the provider adds the default tags)."
  type        = map(string)
  default     = {}
}
