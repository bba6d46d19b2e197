#!/usr/bin/env bash
# Terraform for one environment, as the pipeline runs it (and as an operator
# can, with the same inputs): plan on merge requests, apply in deploy jobs.
#
#   scripts/ci-terraform.sh plan  <staging|production>
#   scripts/ci-terraform.sh apply <staging|production>
#
# Inputs (CI/CD variables scoped to the environment, or the shell):
#   TF_STATE_BUCKET   state bucket of that environment's account
#   SERVER_IMAGE      image repository the pipeline built into (GitLab registry)
#   SERVER_DIGEST     sha256:… of the signed server image (from sign:images)
#   dist/index.html   the web build (web:build artifact), for the CSP hashes
#
# apply also: verifies the image signature, copies the image by digest into the
# environment's ECR repository, runs the migrations as a one-off task, applies
# (the ECS service rolls with circuit breaker and waits for steady state), then
# uploads the web bundle and invalidates CloudFront.
set -euo pipefail

action="${1:?usage: ci-terraform.sh plan|apply <env>}"
env="${2:?usage: ci-terraform.sh plan|apply <env>}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/infra/environments/$env"
[ -d "$dir" ] || { echo "ci-terraform: no environment $env" >&2; exit 2; }
: "${TF_STATE_BUCKET:?TF_STATE_BUCKET is required}"
: "${SERVER_DIGEST:?SERVER_DIGEST is required (sign:images dotenv)}"
: "${SERVER_IMAGE:?SERVER_IMAGE is required}"
[ -f "$root/dist/index.html" ] || { echo "ci-terraform: dist/index.html missing (web:build artifact)" >&2; exit 2; }

cd "$dir"
terraform init -input=false -backend-config="bucket=$TF_STATE_BUCKET"

out() { terraform output -raw "$1" 2>/dev/null || true; }
ecr="$(out ecr_repository_url)"
bucket="$(out web_bucket)"
if [ -z "$ecr" ]; then
  if [ "$action" = apply ]; then
    echo "ci-terraform: $env has no ECR repository yet: run the first apply by hand (docs/operations.md#first-deploy)" >&2
    exit 1
  fi
  ecr="bootstrap.invalid/server"   # first plan: the repository does not exist yet
fi
image="$ecr@$SERVER_DIGEST"

# CSP hashes of the new bundle and of the one live now: during the switch
# CloudFront must accept both inline scripts.
live="$(mktemp)"
trap 'rm -f "$live"' EXIT
if [ -n "$bucket" ]; then aws s3 cp --only-show-errors "s3://$bucket/index.html" "$live" 2>/dev/null || : > "$live"; fi
hashes="$(python3 "$root/scripts/csp-hashes.py" --json --allow-missing "$root/dist/index.html" "$live")"
jq -n --arg image "$image" --argjson hashes "$hashes" '{image: $image, csp_script_hashes: $hashes}' \
  > pipeline.auto.tfvars.json
cat pipeline.auto.tfvars.json

case "$action" in
  plan)
    terraform plan -input=false -lock-timeout=5m -out=plan.cache
    terraform show -no-color plan.cache > "$root/plan-$env.txt"
    # GitLab's merge request widget format.
    terraform show -json plan.cache | jq '([.resource_changes[]?.change.actions?] | flatten)
      | {create: (map(select(. == "create")) | length),
         update: (map(select(. == "update")) | length),
         delete: (map(select(. == "delete")) | length)}' > "$root/plan-$env.json"
    cat "$root/plan-$env.json"
    ;;
  apply)
    "$root/scripts/verify-image.sh" "$SERVER_IMAGE@$SERVER_DIGEST"
    registry="${ecr%%/*}"
    aws ecr get-login-password | skopeo login --username AWS --password-stdin "$registry"
    skopeo login --username "$CI_REGISTRY_USER" --password "$CI_REGISTRY_PASSWORD" "$CI_REGISTRY"
    repo_name="${ecr#*/}"
    if aws ecr describe-images --repository-name "$repo_name" --image-ids "imageDigest=$SERVER_DIGEST" >/dev/null 2>&1; then
      echo "ci-terraform: $SERVER_DIGEST already in $ecr"
    else
      # Same manifest bytes, same digest: the signature still applies.
      skopeo copy --all --preserve-digests "docker://$SERVER_IMAGE@$SERVER_DIGEST" "docker://$ecr:p${CI_PIPELINE_ID:-manual}-${CI_COMMIT_SHORT_SHA:-$(date +%s)}"
    fi

    "$root/scripts/ecs-migrate.sh" --cluster "$(out ecs_cluster)" --family "$(out task_definition_family)" \
      --image "$image" --network-configuration "$(out migrate_network_configuration)"

    terraform apply -input=false -lock-timeout=5m -auto-approve
    "$root/scripts/deploy-web.sh" --dist "$root/dist" --bucket "$(out web_bucket)" \
      --api-base-url "$(out api_url)" --distribution-id "$(out cloudfront_distribution_id)"

    # Smoke: the app's runtime config is served, for this environment.
    app="$(out app_url)"
    for attempt in 1 2 3 4 5 6; do
      if curl -fsS "$app/config.json" | grep -q "$(out api_url)"; then
        echo "ci-terraform: $app serves this environment's config.json"; break
      fi
      [ "$attempt" = 6 ] && { echo "ci-terraform: $app/config.json is not this environment's" >&2; exit 1; }
      sleep 10
    done
    terraform output -raw task_definition_arn > "$root/deployed-task-definition.txt"
    ;;
  *) echo "ci-terraform: unknown action $action" >&2; exit 2 ;;
esac
