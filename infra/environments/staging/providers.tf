# Credentials: in CI, the OIDC web-identity role of this environment
# (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, see .gitlab/ci/deploy.yml);
# locally, an SSO profile. No static keys anywhere.

locals {
  default_tags = {
    Project     = "tasktracker"
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = var.repository
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = local.default_tags
  }
}

# CloudFront certificates, the CLOUDFRONT-scope WAF and its logs.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
  default_tags {
    tags = local.default_tags
  }
}

# Cross-region copies of the backups.
provider "aws" {
  alias  = "backup_replica"
  region = var.backup_replica_region
  default_tags {
    tags = local.default_tags
  }
}
