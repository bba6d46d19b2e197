variable "name" {
  description = "Web ACL name, also its CloudWatch metric name and the suffix of its log group (aws-waf-logs-<name>), e.g. tasktracker-staging-api."
  type        = string
}

variable "description" {
  description = "Description of the web ACL."
  type        = string
}

variable "scope" {
  description = "REGIONAL (ALB, in the provider's region) or CLOUDFRONT (pass a us-east-1 provider as aws)."
  type        = string

  validation {
    condition     = contains(["REGIONAL", "CLOUDFRONT"], var.scope)
    error_message = "scope must be REGIONAL or CLOUDFRONT."
  }
}

variable "rate_limit_per_5min" {
  description = "Requests per source IP per 5 minutes before the rate-limit rule blocks it."
  type        = number
}

variable "common_rule_count_overrides" {
  description = "Rules of AWSManagedRulesCommonRuleSet only counted instead of blocking, in order (e.g. body rules for binary protobuf)."
  type        = list(string)
  default     = []
}

variable "log_kms_key_arn" {
  description = "KMS key encrypting the WAF log group (its policy must let logs.<region> use it)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the WAF logs."
  type        = number
  default     = 365
}

variable "redacted_headers" {
  description = "Request headers redacted from the WAF logs (lower case), e.g. authorization."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags merged into every resource (the provider adds the default tags)."
  type        = map(string)
  default     = {}
}
