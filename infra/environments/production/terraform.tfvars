environment           = "production"
region                = "eu-west-1"
backup_replica_region = "eu-central-1"
repository            = "tasktracker/tasktracker"
availability_zones    = ["eu-west-1a", "eu-west-1b"]
vpc_cidr              = "10.50.0.0/16"
route53_zone_name     = "tasktracker.example"
app_domain            = "app.tasktracker.example"
api_domain            = "api.tasktracker.example"
runbook_base_url      = "https://gitlab.example.com/tasktracker/tasktracker/-/blob/main/docs/runbooks"

single_nat_gateway     = false
enable_execute_command = false

task = {
  cpu           = 1024
  memory        = 2048
  desired_count = 2
  min_count     = 2
  max_count     = 10
}

database = {
  instance_class        = "db.m7g.large"
  multi_az              = true
  backup_retention_days = 35
  allocated_gb          = 100
  max_allocated_gb      = 1000
}

backup = {
  daily_retention_days   = 35
  monthly_retention_days = 365
  copy_to_replica_region = true
  vault_lock             = true
}

# image and csp_script_hashes come from the pipeline (-var / *.auto.tfvars.json).
