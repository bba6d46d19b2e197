#!/usr/bin/env bash
# Checks everything under observability/, compose.yaml and the alert runbooks:
#
#   yamllint         compose.yaml and the observability YAML
#   promtool         check config, check rules, test rules (every alert silent
#                    just before its for: boundary and firing at it)
#   amtool           check-config and the routing of critical / warning
#   runbooks         every alert has for:, severity, summary, description and a
#                    runbook_url whose file exists in docs/runbooks/
#   dashboards       JSON valid and generated from generate_dashboards.py,
#                    every PromQL expression parses, expressions.txt up to date
#   compose          images pinned, mounted files exist, Prometheus and Grafana
#                    address real services
#   live             a real Prometheus with these rules scrapes a stand-in
#                    exporter; every dashboard and rule expression evaluates
#                    and every dashboard panel returns data
#
# Installs what is missing (Debian: prometheus, prometheus-alertmanager; pip:
# yamllint), works without a terminal (CI=true) and exits non-zero on any
# failure. Run from anywhere: bash observability/test.sh
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
export DEBIAN_FRONTEND=noninteractive
started=$SECONDS
passed=0
failed=0
failures=()
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() {
  local name=$1
  shift
  echo "--- $name"
  if "$@" </dev/null; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Debian's packages start their daemons on install unless policy-rc.d says no:
# forbid that for the install (keeping an existing policy), and stop anything
# that started anyway so nothing stays bound to :9090 / :9093.
apt_install() {
  local created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >"$work/apt.log" 2>&1
  local status=$?
  [ "$status" -eq 0 ] || tail -20 "$work/apt.log"
  [ -z "$created_policy" ] || as_root rm -f /usr/sbin/policy-rc.d
  local service
  for service in prometheus prometheus-alertmanager; do
    if [ -x "/etc/init.d/$service" ] && as_root "/etc/init.d/$service" status >/dev/null 2>&1; then
      as_root "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    fi
  done
  return "$status"
}

ensure_tools() {
  local packages=()
  command -v promtool >/dev/null && command -v prometheus >/dev/null || packages+=(prometheus)
  command -v amtool >/dev/null || packages+=(prometheus-alertmanager)
  if [ ${#packages[@]} -gt 0 ]; then
    echo "installing ${packages[*]} (Debian packages)"
    apt_install "${packages[@]}" || return 1
  fi
  if ! python3 -m yamllint --version >/dev/null 2>&1; then
    echo "installing yamllint (pip)"
    python3 -m pip install --quiet --disable-pip-version-check yamllint || return 1
  fi
  python3 -c 'import yaml' || return 1
  promtool --version 2>&1 | head -1
  amtool --version 2>&1 | head -1
  python3 -m yamllint --version
}

lint_yaml() {
  local yamllint_config=(-d "{extends: default, rules: {document-start: disable, line-length: {max: 200}}}")
  # The repository's .yamllint, when there is one, is the one CI uses.
  [ -f .yamllint ] && yamllint_config=(-c .yamllint)
  python3 -m yamllint --strict "${yamllint_config[@]}" compose.yaml observability/
}

check_routing() {
  local am_config=observability/alertmanager/alertmanager.yml
  amtool check-config "$am_config" || return 1
  # expected receivers, in order, for a label set
  local ok=0 got
  while IFS='|' read -r labels want; do
    # shellcheck disable=SC2086  # label set is word-split on purpose
    got=$(amtool config routes test --config.file="$am_config" $labels 2>/dev/null)
    if [ "$got" = "$want" ]; then
      echo "  $labels -> $got"
    else
      echo "  $labels -> $got (expected $want)"
      ok=1
    fi
  done <<'EOF'
severity=critical alertname=TasktrackerHighErrorRate job=tasktracker|pagerduty-pages,slack-pages
severity=warning alertname=TasktrackerDbPoolSaturated job=tasktracker|slack-tickets
alertname=SomethingUnlabelled|slack-tickets
EOF
  return "$ok"
}

check_dashboards() {
  python3 observability/grafana/generate_dashboards.py --check &&
    python3 observability/check_config.py dashboards
}

# Each expression, variables substituted, becomes a recording rule so promtool
# parses it; expressions.txt must be what dashboard_exprs.py prints today.
check_dashboard_exprs() {
  python3 observability/dashboard_exprs.py >"$work/expressions.txt" || return 1
  python3 - "$work/expressions.txt" >"$work/dashboard-exprs.rules.yml" <<'EOF' || return 1
import json, sys
exprs = [line for line in open(sys.argv[1]).read().splitlines() if line]
rules = [{"record": f"dashboard_expression_{i}", "expr": e} for i, e in enumerate(exprs, 1)]
print(json.dumps({"groups": [{"name": "dashboard-expressions", "rules": rules}]}, indent=1))
EOF
  promtool check rules "$work/dashboard-exprs.rules.yml" || return 1
  if ! diff -u observability/grafana/expressions.txt "$work/expressions.txt"; then
    echo "observability/grafana/expressions.txt is stale:"
    echo "  python3 observability/dashboard_exprs.py > observability/grafana/expressions.txt"
    return 1
  fi
  echo "  $(wc -l <"$work/expressions.txt") distinct expressions"
}

if ! step "install tools" ensure_tools; then
  echo "cannot continue without the tools"
  echo "0 passed, 1 failed"
  exit 1
fi
step "yamllint" lint_yaml
step "promtool check config" promtool check config observability/prometheus/prometheus.yml
step "promtool check rules" promtool check rules observability/prometheus/rules/*.yml
step "promtool test rules" promtool test rules observability/prometheus/tests/*.yml
step "amtool check-config and routes" check_routing
step "alerts: for, severity, annotations, runbooks, tests" python3 observability/check_config.py rules
step "dashboards" check_dashboards
step "dashboard expressions" check_dashboard_exprs
step "compose.yaml" python3 observability/check_config.py compose
step "live Prometheus evaluation" python3 observability/live_check.py

echo
echo "observability checks took $((SECONDS - started))s"
for name in "${failures[@]}"; do echo "failed: $name"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
