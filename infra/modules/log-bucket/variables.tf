variable "bucket_prefix" {
  description = "Prefix of the bucket's generated name, e.g. tasktracker-staging-alb-logs-."
  type        = string
}

variable "retention_days" {
  description = "Days before a log object expires (noncurrent versions go 30 days after they are replaced)."
  type        = number
}

variable "delivery" {
  description = "The service principal that writes the logs: statement sid, service (e.g. logdelivery.elasticloadbalancing.amazonaws.com), the object keys it may put (key_pattern, below the bucket ARN) and optional IAM conditions."
  type = object({
    sid         = string
    service     = string
    key_pattern = string
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  })
}

variable "log_delivery_acl" {
  description = "Keep ACLs (BucketOwnerPreferred) and grant log-delivery-write, for a service that still delivers through the bucket ACL (CloudFront standard logging); otherwise ACLs are disabled (BucketOwnerEnforced). A caller that sets it skips CKV2_AWS_65 on its module block, with its reason."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
