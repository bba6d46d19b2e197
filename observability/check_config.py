#!/usr/bin/env python3
"""Consistency checks promtool and amtool do not make. Used by observability/test.sh.

    python3 observability/check_config.py rules        # alert policy, runbooks, tests, rule names
    python3 observability/check_config.py dashboards   # JSON, ids, recording rules they use
    python3 observability/check_config.py compose     # compose.yaml: images pinned, files, wiring

Each prints what it checked and exits 1 on the first category with problems.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RULES = HERE / "prometheus" / "rules"
TESTS = HERE / "prometheus" / "tests"
DASHBOARDS = HERE / "grafana" / "dashboards"
RUNBOOK_URL = re.compile(r"^https://gitlab\.example\.com/tasktracker/tasktracker/-/blob/main/(docs/runbooks/[a-z0-9-]+\.md)$")
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
RECORDED_REF = re.compile(r"\b([a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*)\b")
SEVERITIES = {"critical", "warning"}
REQUIRED_SERVICES = {"postgres", "server", "web", "prometheus", "alertmanager", "grafana", "jaeger"}


def load_rules() -> list[tuple[str, dict]]:
    rules = []
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [(f"{path.name}/{group['name']}", rule) for rule in group["rules"]]
    return rules


def recorded_names() -> set[str]:
    return {rule["record"] for _, rule in load_rules() if "record" in rule}


def tested_alerts() -> tuple[set[str], list[tuple[str, dict]]]:
    """Alert names asserted silent at some time, and (name, labels) asserted firing."""
    silent: set[str] = set()
    firing: list[tuple[str, dict]] = []
    for path in sorted(TESTS.glob("*.yml")):
        for test in yaml.safe_load(path.read_text()).get("tests", []):
            for case in test.get("alert_rule_test", []) or []:
                if not case.get("exp_alerts"):
                    silent.add(case["alertname"])
                firing += [(case["alertname"], alert.get("exp_labels", {})) for alert in case.get("exp_alerts") or []]
    return silent, firing


def check_rules() -> list[str]:
    problems = []
    alerts = 0
    records = recorded_names()
    tests = tested_alerts()
    for where, rule in load_rules():
        expr = rule.get("expr", "")
        for ref in RECORDED_REF.findall(expr):
            if ref not in records:
                problems.append(f"{where}: uses {ref}, which no recording rule defines")
        if "record" in rule:
            if not RECORD_NAME.match(rule["record"]):
                problems.append(f"{where}: recording rule {rule['record']} is not named level:metric:operations")
            continue
        alerts += 1
        name = rule["alert"]
        labels = rule.get("labels", {})
        annotations = rule.get("annotations", {})
        if not rule.get("for"):
            problems.append(f"{where}: {name} has no for:")
        if labels.get("severity") not in SEVERITIES:
            problems.append(f"{where}: {name} severity {labels.get('severity')!r} is not one of {sorted(SEVERITIES)}")
        for key in ("summary", "description", "runbook_url"):
            if not annotations.get(key):
                problems.append(f"{where}: {name} has no {key} annotation")
        match = RUNBOOK_URL.match(annotations.get("runbook_url", ""))
        if not match:
            problems.append(f"{where}: {name} runbook_url {annotations.get('runbook_url')!r} is not a docs/runbooks/*.md URL")
        elif not (REPO / match.group(1)).is_file():
            problems.append(f"{where}: {name} runbook_url points at {match.group(1)}, which does not exist")
        else:
            print(f"  {name} ({labels.get('severity')}, for {rule.get('for')}) -> {match.group(1)}")
        # Several rules may share a name (burn-rate windows): each needs a
        # firing assertion carrying its own static labels.
        silent, firing = tests
        fires = any(n == name and all(str(got.get(k)) == str(v) for k, v in labels.items()) for n, got in firing)
        if name not in silent or not fires:
            problems.append(f"{where}: {name} {labels} needs promtool tests that it stays silent and that it fires")
    print(f"  {alerts} alerts, {len(records)} recording rules")
    return problems


def dashboard_panels(dashboard: dict):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def check_dashboards() -> list[str]:
    problems = []
    records = recorded_names()
    uids: dict[str, str] = {}
    files = sorted(DASHBOARDS.glob("*.json"))
    if not files:
        return [f"no dashboards in {DASHBOARDS}"]
    for path in files:
        try:
            dashboard = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            problems.append(f"{path.name}: invalid JSON: {error}")
            continue
        uid = dashboard.get("uid")
        if not uid or not dashboard.get("title"):
            problems.append(f"{path.name}: needs a uid and a title")
        elif uid in uids:
            problems.append(f"{path.name}: uid {uid} already used by {uids[uid]}")
        else:
            uids[uid] = path.name
        ids = set()
        panels = [p for p in dashboard_panels(dashboard) if p.get("type") != "row"]
        queries = 0
        for panel in panels:
            title = panel.get("title", "?")
            if panel.get("id") in ids:
                problems.append(f"{path.name}: panel id {panel.get('id')} used twice")
            ids.add(panel.get("id"))
            grid = panel.get("gridPos", {})
            if grid.get("x", 0) + grid.get("w", 0) > 24:
                problems.append(f"{path.name}: panel {title!r} is wider than the grid")
            if not panel.get("description"):
                problems.append(f"{path.name}: panel {title!r} has no description")
            targets = panel.get("targets", [])
            if not targets:
                problems.append(f"{path.name}: panel {title!r} has no query")
            for target in targets:
                expr = target.get("expr", "")
                if not expr.strip():
                    problems.append(f"{path.name}: panel {title!r} has an empty query")
                queries += 1
                for ref in RECORDED_REF.findall(expr):
                    if ref not in records:
                        problems.append(f"{path.name}: panel {title!r} uses {ref}, which no recording rule defines")
        print(f"  {path.name}: {uid}, {len(panels)} panels, {queries} queries")
    return problems


def image_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest") and any(c.isdigit() for c in tag)


def check_compose() -> list[str]:
    problems = []
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose.get("services", {})
    missing = REQUIRED_SERVICES - services.keys()
    if missing:
        problems.append(f"compose.yaml: missing services {sorted(missing)}")
    for name, service in services.items():
        image = service.get("image")
        build = service.get("build")
        if build:
            dockerfile = REPO / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
            if not dockerfile.is_file():
                problems.append(f"compose.yaml: {name} builds from {dockerfile.relative_to(REPO)}, which does not exist")
        elif not image or not image_pinned(image):
            problems.append(f"compose.yaml: {name} image {image!r} is not pinned to a version tag")
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./") and not (REPO / source).exists():
                problems.append(f"compose.yaml: {name} mounts {source}, which does not exist")
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"compose.yaml: {name} publishes {port} beyond the loopback interface")
        print(f"  {name}: {image or 'build ' + build.get('dockerfile', 'Dockerfile')}")

    # Prometheus and Grafana address services by their compose names.
    prometheus = yaml.safe_load((HERE / "prometheus" / "prometheus.yml").read_text())
    addresses = [t for job in prometheus["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]]
    addresses += [t for am in prometheus["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    for address in addresses:
        host = address.rsplit(":", 1)[0]
        if host != "localhost" and host not in services:
            problems.append(f"prometheus.yml: target {address} is not a compose service")
    datasources = yaml.safe_load((HERE / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text())
    for source in datasources["datasources"]:
        host = re.sub(r"^https?://", "", source["url"]).split(":")[0].split("/")[0]
        if host not in services:
            problems.append(f"datasources.yml: {source['name']} points at {source['url']}, not a compose service")
    return problems


CHECKS = {"rules": check_rules, "dashboards": check_dashboards, "compose": check_compose}


def main(argv: list[str]) -> int:
    names = argv or list(CHECKS)
    failed = False
    for name in names:
        if name not in CHECKS:
            print(f"unknown check {name}; choose from {', '.join(CHECKS)}", file=sys.stderr)
            return 2
        problems = CHECKS[name]()
        for problem in problems:
            print(f"FAIL {problem}", file=sys.stderr)
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
