variable "name" {
  description = "Name prefix for every resource, e.g. tasktracker-staging."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or hyphens."
  }
}

variable "domain_name" {
  description = "Host name of the web app, e.g. app.tasktracker.example."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate in us-east-1 covering domain_name."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:us-east-1:", var.certificate_arn))
    error_message = "CloudFront needs an ACM certificate from us-east-1."
  }
}

variable "api_origin" {
  description = "Origin of the gRPC-web API (https://api.…), allowed in the CSP connect-src."
  type        = string

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", var.api_origin))
    error_message = "api_origin must be an https origin without a path."
  }
}

variable "csp_script_hashes" {
  description = "CSP sources ('sha256-…') of Trunk's inline init script, from scripts/csp-hashes.py: the new build and the one live, so the switch-over never blocks a page."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for h in var.csp_script_hashes : can(regex("^'sha(256|384|512)-[A-Za-z0-9+/=]+'$", h))])
    error_message = "Each entry must look like 'sha256-<base64>' including the single quotes."
  }
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "waf_rate_limit_per_5min" {
  description = "Requests per source IP per 5 minutes before the CloudFront WAF blocks it."
  type        = number
  default     = 2000
}

variable "log_retention_days" {
  description = "Retention of CloudFront, S3 and WAF logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags merged into every resource (the provider adds the default tags)."
  type        = map(string)
  default     = {}
}
