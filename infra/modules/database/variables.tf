variable "name" {
  description = "Name prefix for every resource, e.g. tasktracker-staging."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lowercase letters, digits or hyphens."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Isolated database subnets in two AZs."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL major version; minor versions upgrade automatically in the maintenance window."
  type        = string
  default     = "17"
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "storage" {
  description = "gp3 storage: initial and autoscaling ceiling in GiB."
  type = object({
    allocated_gb     = optional(number, 50)
    max_allocated_gb = optional(number, 500)
  })
  default = {}
}

variable "multi_az" {
  description = "Synchronous standby in the second AZ (production: true)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Automated backups and point-in-time recovery window (1-35 days)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "Keep between 7 and 35 days of automated backups."
  }
}

variable "backup_window" {
  description = "Daily UTC window for automated backups (must not overlap maintenance)."
  type        = string
  default     = "02:00-03:00"
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "deletion_protection" {
  description = "Refuse deletion of the instance (turn off deliberately, in its own change, before a teardown)."
  type        = bool
  default     = true
}

variable "slow_query_ms" {
  description = "log_min_duration_statement: statements slower than this are logged."
  type        = number
  default     = 250
}

variable "log_retention_days" {
  description = "Retention of the exported PostgreSQL logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags merged into every resource (the provider adds the default tags)."
  type        = map(string)
  default     = {}
}
