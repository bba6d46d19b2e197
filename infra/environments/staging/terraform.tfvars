environment           = "staging"
region                = "eu-west-1"
backup_replica_region = "eu-central-1"
repository            = "tasktracker/tasktracker"
availability_zones    = ["eu-west-1a", "eu-west-1b"]
vpc_cidr              = "10.40.0.0/16"
route53_zone_name     = "tasktracker.example"
app_domain            = "app.staging.tasktracker.example"
api_domain            = "api.staging.tasktracker.example"
review_domain         = "review.staging.tasktracker.example"
runbook_base_url      = "https://gitlab.example.com/tasktracker/tasktracker/-/blob/main/docs/runbooks"

single_nat_gateway     = true
enable_execute_command = true

task = {
  cpu           = 256
  memory        = 512
  desired_count = 2
  min_count     = 2
  max_count     = 3
}

database = {
  instance_class        = "db.t4g.medium"
  multi_az              = false
  backup_retention_days = 7
  allocated_gb          = 20
  max_allocated_gb      = 100
}

backup = {
  daily_retention_days   = 14
  monthly_retention_days = 90
  copy_to_replica_region = false
  vault_lock             = false
}

# image and csp_script_hashes come from the pipeline (-var / *.auto.tfvars.json).
