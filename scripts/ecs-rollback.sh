#!/usr/bin/env bash
# Emergency rollback of the ECS service to an earlier task definition revision
# (the previous image and configuration), without Terraform. Follow up by
# re-running the deploy job of the last good pipeline so Terraform's state
# matches again (docs/runbooks/rollback.md).
#
#   scripts/ecs-rollback.sh --cluster C --service S [--to TASK_DEFINITION_ARN] [--no-wait]
#
# Without --to: the revision before the one the service runs now. Waits until
# the service is stable unless --no-wait.
set -euo pipefail

cluster="" service="" target="" wait=1
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster) cluster="$2"; shift 2 ;;
    --service) service="$2"; shift 2 ;;
    --to) target="$2"; shift 2 ;;
    --no-wait) wait=0; shift ;;
    *) echo "ecs-rollback: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$cluster" ] && [ -n "$service" ] || { echo "ecs-rollback: --cluster and --service are required" >&2; exit 2; }

current="$(aws ecs describe-services --cluster "$cluster" --services "$service" \
  --query 'services[0].taskDefinition' --output text)"
family="$(sed -E 's|.*task-definition/([^:]+):[0-9]+$|\1|' <<<"$current")"
if [ -z "$target" ]; then
  # The highest ACTIVE revision of the same family below the current one
  # (the "-migrate" family shares the prefix and is excluded).
  target="$(aws ecs list-task-definitions --family-prefix "$family" --status ACTIVE \
    --query 'taskDefinitionArns' --output json | jq -r --arg cur "$current" --arg fam "$family" '
      ($cur | capture(":(?<r>[0-9]+)$").r | tonumber) as $rev
      | map(select(test("task-definition/" + $fam + ":[0-9]+$"))
            | {arn: ., r: (capture(":(?<r>[0-9]+)$").r | tonumber)}
            | select(.r < $rev))
      | max_by(.r) | .arn // empty')"
  [ -n "$target" ] || { echo "ecs-rollback: no revision before $current" >&2; exit 1; }
fi

echo "ecs-rollback: $current -> $target"
# shellcheck disable=SC2016 # backticks are JMESPath literals, not shell
aws ecs describe-task-definition --task-definition "$target" \
  --query 'taskDefinition.containerDefinitions[?name==`server`].image | [0]' --output text \
  | sed 's/^/ecs-rollback: image /'
aws ecs update-service --cluster "$cluster" --service "$service" --task-definition "$target" \
  --query 'service.deployments[0].id' --output text >/dev/null
if [ "$wait" = 1 ]; then
  aws ecs wait services-stable --cluster "$cluster" --services "$service"
  echo "ecs-rollback: service stable on $target"
else
  echo "ecs-rollback: service updated to $target (not waiting)"
fi
