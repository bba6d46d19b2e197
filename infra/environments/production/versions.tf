terraform {
  # Exact pins for the root module; CI runs the same Terraform image.
  required_version = "1.16.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.27.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
  }

  # Partial configuration: the state bucket (versioned, KMS-encrypted, in this
  # environment's account) is passed at init time:
  #   terraform init -backend-config="bucket=$TF_STATE_BUCKET"
  # Locking uses S3 conditional writes (use_lockfile); no DynamoDB table.
  backend "s3" {
    key          = "tasktracker/production/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
