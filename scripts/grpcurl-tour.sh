#!/usr/bin/env bash
# The README's API tour, run for real: starts the server on the embedded
# SQLite default, then uses nothing but grpcurl (reflection, no .proto files)
# to sign up, create a project and tasks, list them, complete a recurring one, add a workflow state and
# move a task into it, relate two tasks, and watch changes live.
# Fails on any unexpected answer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
ensure_grpcurl

# TASKTRACKER_SERVER_BIN (test.sh passes the one its test build made), else built here.
server_bin="${TASKTRACKER_SERVER_BIN:-}"
if [ -z "$server_bin" ]; then
  cargo build --locked --quiet -p tasktracker-server
  server_bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/tasktracker-server"
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
address="127.0.0.1:$port"
server_pid=""
watch_pid=""
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && exec env -u DATABASE_URL TASKTRACKER_LISTEN_ADDR="$address" TASKTRACKER_METRICS_ADDR=127.0.0.1:0 \
  "$server_bin" >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 100); do
  grpcurl -plaintext "$address" list >/dev/null 2>&1 && break
  sleep 0.1
done

expect() { # expect <pattern> <text>
  grep -q -- "$1" <<<"$2" || { echo "expected '$1' in:"; echo "$2"; echo "--- server log"; cat "$work/server.log"; exit 1; }
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

services=$(grpcurl -plaintext "$address" list)
echo "$services"
expect tasktracker.v1.TaskService "$services"
expect tasktracker.v1.TaskRelationService "$services"
expect tasktracker.v1.SavedViewService "$services"
expect grpc.health.v1.Health "$services"
expect "rpc CreateTask" "$(grpcurl -plaintext "$address" describe tasktracker.v1.TaskService)"
expect SERVING "$(grpcurl -plaintext "$address" grpc.health.v1.Health/Check)"

signup=$(grpcurl -plaintext -d '{"email": "ada@example.com", "password": "correct horse battery", "display_name": "Ada"}' \
  "$address" tasktracker.v1.AccountService/SignUp)
token=$(json '["session"]["accessToken"]' <<<"$signup")
auth="authorization: Bearer $token"
denied=$(grpcurl -plaintext -d '{}' "$address" tasktracker.v1.ProjectService/ListProjects 2>&1 || true)
expect Unauthenticated "$denied"
profile=$(grpcurl -plaintext -H "$auth" -d '{"user": {"time_zone": "Europe/Berlin"}, "update_mask": {"paths": ["time_zone"]}}' \
  "$address" tasktracker.v1.AccountService/UpdateCurrentUser)
expect '"timeZone": "Europe/Berlin"' "$profile"

project=$(grpcurl -plaintext -H "$auth" -d '{"project": {"title": "Launch"}}' "$address" tasktracker.v1.ProjectService/CreateProject)
project_name=$(json '["name"]' <<<"$project")
echo "created $project_name"

grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\"}" "$address" tasktracker.v1.TaskService/WatchTasks \
  >"$work/watch.out" 2>&1 &
watch_pid=$!
sleep 1

readme=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\", \"task\": {\"title\": \"Write the README\", \"labels\": [\"docs\"], \"priority\": \"PRIORITY_HIGH\"}}" \
  "$address" tasktracker.v1.TaskService/CreateTask)
ship=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\", \"task\": {\"title\": \"Ship it\"}}" \
  "$address" tasktracker.v1.TaskService/CreateTask)
ship_name=$(json '["name"]' <<<"$ship")

listed=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\", \"filter\": \"label = docs AND priority >= HIGH\"}" \
  "$address" tasktracker.v1.TaskService/ListTasks)
expect "Write the README" "$listed"
if grep -q "Ship it" <<<"$listed"; then echo "the filter let 'Ship it' through"; exit 1; fi

bad=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\", \"filter\": \"status = SOMEDAY\"}" \
  "$address" tasktracker.v1.TaskService/ListTasks 2>&1 || true)
expect InvalidArgument "$bad"
expect "column 10" "$bad"
expect '"field":"filter"' "$bad"

# A recurring task: weekly on Tuesdays, 09:00 in Berlin; done, it is followed by the next one.
standup=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\", \"task\": {\"title\": \"Stand-up notes\", \"due_time\": \"2027-01-05T08:00:00Z\", \"recurrence\": {\"rule\": \"FREQ=WEEKLY;BYDAY=TU\", \"time_zone\": \"Europe/Berlin\"}}}" \
  "$address" tasktracker.v1.TaskService/CreateTask)
expect '"rule": "FREQ=WEEKLY;BYDAY=TU"' "$standup"
standup_name=$(json '["name"]' <<<"$standup")
grpcurl -plaintext -H "$auth" -d "{\"name\": \"$standup_name\", \"status\": \"TASK_STATUS_DONE\"}" \
  "$address" tasktracker.v1.TaskService/MoveTask >/dev/null
occurrences=$(grpcurl -plaintext -H "$auth" -d "{\"task\": \"$standup_name\"}" "$address" tasktracker.v1.TaskService/ListOccurrences)
expect '"dueTime": "2027-01-12T08:00:00Z"' "$occurrences"

# Workflow states: the defaults, a new column, a task moved into it, the state filter.
states=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\"}" \
  "$address" tasktracker.v1.WorkflowStateService/ListWorkflowStates)
expect '"displayName": "In progress"' "$states"
review=$(grpcurl -plaintext -H "$auth" \
  -d "{\"parent\": \"$project_name\", \"state\": {\"display_name\": \"Review\", \"color\": \"#7c3aed\", \"category\": \"STATE_CATEGORY_STARTED\", \"wip_limit\": 3}}" \
  "$address" tasktracker.v1.WorkflowStateService/CreateWorkflowState)
review_name=$(json '["name"]' <<<"$review")
moved=$(grpcurl -plaintext -H "$auth" -d "{\"name\": \"$ship_name\", \"state\": \"$review_name\"}" \
  "$address" tasktracker.v1.TaskService/MoveTask)
expect "\"state\": \"$review_name\"" "$moved"
expect TASK_STATUS_IN_PROGRESS "$moved"
in_review=$(grpcurl -plaintext -H "$auth" \
  -d "$(python3 -c 'import json, sys; print(json.dumps({"parent": sys.argv[1], "filter": "state = \"%s\"" % sys.argv[2]}))' "$project_name" "$review_name")" \
  "$address" tasktracker.v1.TaskService/ListTasks)
expect "Ship it" "$in_review"
if grep -q "Write the README" <<<"$in_review"; then echo "the state filter let 'Write the README' through"; exit 1; fi

# Custom fields: a NUMBER field, a value on a task, the filter on it.
field=$(grpcurl -plaintext -H "$auth" \
  -d "{\"parent\": \"$project_name\", \"field\": {\"key\": \"estimate\", \"display_name\": \"Estimate\", \"type\": \"CUSTOM_FIELD_TYPE_NUMBER\"}}" \
  "$address" tasktracker.v1.CustomFieldService/CreateCustomField)
expect CUSTOM_FIELD_TYPE_NUMBER "$field"
estimated=$(grpcurl -plaintext -H "$auth" \
  -d "{\"task\": {\"name\": \"$ship_name\", \"custom_fields\": {\"estimate\": {\"number\": 5}}}, \"update_mask\": {\"paths\": [\"custom_fields.estimate\"]}}" \
  "$address" tasktracker.v1.TaskService/UpdateTask)
expect '"number": 5' "$estimated"
big=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\", \"filter\": \"cf.estimate >= 3\", \"order_by\": \"cf.estimate desc\"}" \
  "$address" tasktracker.v1.TaskService/ListTasks)
expect "Ship it" "$big"
if grep -q "Write the README" <<<"$big"; then echo "the custom field filter let 'Write the README' through"; exit 1; fi
# Relations: "Write the README" blocks "Ship it"; "Ship it" lists the inverse side.
readme_name=$(json '["name"]' <<<"$readme")
# A batch: both tasks labelled at once, all or nothing.
batch=$(grpcurl -plaintext -H "$auth" \
  -d "{\"parent\": \"$project_name\", \"requests\": [{\"task\": {\"name\": \"$ship_name\", \"labels\": [\"launch\"]}, \"update_mask\": {\"paths\": [\"labels\"]}}, {\"task\": {\"name\": \"$readme_name\", \"labels\": [\"launch\"]}, \"update_mask\": {\"paths\": [\"labels\"]}}]}" \
  "$address" tasktracker.v1.TaskService/BatchUpdateTasks)
[ "$(grep -c '"launch"' <<<"$batch")" = 2 ] || { echo "BatchUpdateTasks did not label both tasks: $batch"; exit 1; }
grpcurl -plaintext -H "$auth" \
  -d "{\"parent\": \"$readme_name\", \"task_relation\": {\"type\": \"TASK_RELATION_TYPE_BLOCKS\", \"task\": \"$ship_name\"}}" \
  "$address" tasktracker.v1.TaskRelationService/CreateTaskRelation >/dev/null
relations=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$ship_name\"}" \
  "$address" tasktracker.v1.TaskRelationService/ListTaskRelations)
expect TASK_RELATION_TYPE_BLOCKED_BY "$relations"
expect '"taskTitle": "Write the README"' "$relations"
# A comment carries its Markdown rendered by the server; RenderMarkdown previews the same.
comment=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$ship_name\", \"comment\": {\"body\": \"**Blocked** on <b>docs</b>\"}}" \
  "$address" tasktracker.v1.TaskService/CreateComment)
expect '<p><strong>Blocked</strong> on &lt;b&gt;docs&lt;/b&gt;</p>' "$(json '["bodyHtml"]' <<<"$comment")"
comment_name=$(json '["name"]' <<<"$comment")
edited=$(grpcurl -plaintext -H "$auth" \
  -d "{\"comment\": {\"name\": \"$comment_name\", \"body\": \"Unblocked\"}, \"update_mask\": {\"paths\": [\"body\"]}}" \
  "$address" tasktracker.v1.TaskService/UpdateComment)
expect '"editTime"' "$edited"
expect '"body": "Unblocked"' "$edited"
preview=$(grpcurl -plaintext -H "$auth" -d '{"markdown": "# Plan"}' "$address" tasktracker.v1.TaskService/RenderMarkdown)
expect '<h1>Plan</h1>' "$(json '["html"]' <<<"$preview")"
# A shared saved view: its filter, as saved, lists the same tasks.
saved=$(grpcurl -plaintext -H "$auth" \
  -d "{\"parent\": \"$project_name\", \"saved_view\": {\"display_name\": \"Estimated\", \"filter\": \"cf.estimate >= 3\", \"visibility\": \"VIEW_VISIBILITY_SHARED\"}}" \
  "$address" tasktracker.v1.SavedViewService/CreateSavedView)
expect VIEW_VISIBILITY_SHARED "$saved"
views=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\"}" "$address" tasktracker.v1.SavedViewService/ListSavedViews)
expect '"displayName": "Estimated"' "$views"
# Following a task by hand; the inbox answers (empty: nobody else acted).
followed=$(grpcurl -plaintext -H "$auth" -d "{\"task\": \"$ship_name\"}" "$address" tasktracker.v1.NotificationService/SubscribeTask)
expect '"subscribed": true' "$followed"
expect SUBSCRIPTION_REASON_MANUAL "$followed"
grpcurl -plaintext -H "$auth" -d '{"unread_only": true}' "$address" tasktracker.v1.NotificationService/ListNotifications >/dev/null
# A webhook: its secret is in the create reply only; the list shows it without.
# A URL reaching inside (the cloud metadata address) is refused, naming the field.
hook=$(grpcurl -plaintext -H "$auth" \
  -d "{\"parent\": \"$project_name\", \"webhook\": {\"url\": \"https://hooks.example.com/tasktracker\"}}" \
  "$address" tasktracker.v1.WebhookService/CreateWebhook)
expect '"secret": "whsec_' "$hook"
hooks=$(grpcurl -plaintext -H "$auth" -d "{\"parent\": \"$project_name\"}" "$address" tasktracker.v1.WebhookService/ListWebhooks)
expect 'hooks.example.com/tasktracker' "$hooks"
if grep -q '"secret"' <<<"$hooks"; then echo "ListWebhooks shows a secret: $hooks"; exit 1; fi
refused=$(grpcurl -plaintext -H "$auth" \
  -d "{\"parent\": \"$project_name\", \"webhook\": {\"url\": \"http://169.254.169.254/latest/meta-data/\"}}" \
  "$address" tasktracker.v1.WebhookService/CreateWebhook 2>&1 || true)
expect InvalidArgument "$refused"
# Search across the caller's projects: stemmed ("shipping" finds "Ship it"), the match highlighted.
found=$(grpcurl -plaintext -H "$auth" -d '{"query": "shipping"}' "$address" tasktracker.v1.TaskService/SearchTasks)
expect '"title": "Ship it"' "$found"
expect '"highlighted": true' "$found"
for _ in $(seq 1 50); do
  grep -q "Ship it" "$work/watch.out" && break
  sleep 0.1
done
watched=$(cat "$work/watch.out")
expect TASK_EVENT_TYPE_CREATED "$watched"
expect "Ship it" "$watched"

kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
expect stopped "$(cat "$work/server.log")"
echo "grpcurl tour passed: sign-up, project, tasks, filter, a recurring task followed by its next occurrence, workflow states, a batch update, a relation, a comment rendered and edited, a saved view, following a task, a webhook and an SSRF refusal, a search, live watch and a clean SIGTERM exit"
