variable "name" {
  description = "Name prefix for every resource, e.g. tasktracker-production."
  type        = string
}

variable "resource_arns" {
  description = "Resources to back up (the RDS instance)."
  type        = list(string)
}

variable "schedule" {
  description = "Daily backup schedule (AWS cron, UTC); keep it clear of the RDS backup window."
  type        = string
  default     = "cron(0 3 * * ? *)"
}

variable "daily_retention_days" {
  description = "How long daily recovery points are kept."
  type        = number
  default     = 35
}

variable "monthly_retention_days" {
  description = "How long the first-of-month recovery points are kept."
  type        = number
  default     = 365
}

variable "continuous_backup" {
  description = "AWS Backup continuous backup (point-in-time restore from the vault, up to 35 days)."
  type        = bool
  default     = true
}

variable "copy_to_replica_region" {
  description = "Copy every recovery point to a vault in the aws.replica region (production DR)."
  type        = bool
  default     = false
}

variable "replica_retention_days" {
  description = "How long cross-region copies are kept."
  type        = number
  default     = 35
}

variable "vault_lock" {
  description = "Governance-mode vault lock bounds (recovery points cannot be deleted early); null to skip."
  type = object({
    min_retention_days = number
    max_retention_days = number
  })
  default = null
}

variable "notification_topic_arn" {
  description = "SNS topic for failed backup and copy jobs (the alarms topic); null to skip."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags merged into every resource (the provider adds the default tags)."
  type        = map(string)
  default     = {}
}
