variable "name" {
  description = "Name prefix of the hosting environment, e.g. tasktracker-staging."
  type        = string
}

variable "domain" {
  description = "Parent domain of the review apps: mr-<iid>.<domain> (web) and api-mr-<iid>.<domain> (API)."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone that gets the wildcard records."
  type        = string
}

variable "listener_arn" {
  description = "HTTPS listener of the hosting environment's ALB."
  type        = string
}

variable "alb_dns_name" {
  description = "DNS name of that ALB."
  type        = string
}

variable "alb_zone_id" {
  description = "Route 53 zone of that ALB."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the review images and logs (the hosting service's key)."
  type        = string
}

variable "server_repository_arn" {
  description = "ECR repository of the server images (review tasks pull from it)."
  type        = string
}

variable "token_secret_arn" {
  description = "TASKTRACKER_TOKEN_SECRET of the hosting environment, reused by review servers."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of review app logs (they are short-lived)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Extra tags merged into every resource (the provider adds the default tags)."
  type        = map(string)
  default     = {}
}
