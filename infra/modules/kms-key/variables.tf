variable "description" {
  description = "Key description: whose key it is and what it encrypts, e.g. \"tasktracker-staging VPC flow logs\"."
  type        = string
}

variable "alias" {
  description = "Alias name without the alias/ prefix, e.g. tasktracker-staging-database; null for no alias."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the key."
  type        = map(string)
  default     = {}
}
