#!/usr/bin/env python3
"""Prints every PromQL expression of the Grafana dashboards, one per line.

Grafana variables are replaced so that each line can be sent as is to
Prometheus' HTTP API (/api/v1/query):

    $job                   -> tasktracker      (--job)
    $instance, $service,
    $method, $node         -> .*               (they are "All" by default and
                                                 are always used with =~)
    $__rate_interval       -> 1m               (--rate-interval)
    $__interval            -> 1m               (--rate-interval)
    $__range               -> 1h               (--range)

Variable queries (label_values(METRIC, LABEL)) are printed as
`group by (LABEL) (METRIC)`, so the variables can be checked to have values
too. An unknown variable is an error, so a new one cannot slip through.

    python3 observability/dashboard_exprs.py              # unique expressions
    python3 observability/dashboard_exprs.py --tsv        # dashboard, panel, refId, expression
    python3 observability/dashboard_exprs.py --dashboard tasktracker-overview
    python3 observability/dashboard_exprs.py --rules      # add alert and recording rule expressions
    python3 observability/dashboard_exprs.py --raw        # keep Grafana's variables

observability/grafana/expressions.txt is this script's default output, kept
in the repository so it can be read without running anything; test.sh fails
when it is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DASHBOARDS = HERE / "grafana" / "dashboards"
RULES = HERE / "prometheus" / "rules"

ALL_VALUE = ".*"
MULTI_VALUE_VARS = {"instance", "service", "method", "node"}
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|([A-Za-z_][A-Za-z0-9_]*))")
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?P<selector>.+?)\s*,\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)


def substitute(expr: str, args: argparse.Namespace) -> str:
    values = {
        "job": args.job,
        "__rate_interval": args.rate_interval,
        "__interval": args.rate_interval,
        "__range": args.range,
        **{name: ALL_VALUE for name in MULTI_VALUE_VARS},
    }

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise SystemExit(f"unknown Grafana variable ${name} in: {expr}")
        return values[name]

    return VARIABLE.sub(replace, expr)


def one_line(expr: str) -> str:
    return " ".join(expr.split())


def panels(dashboard: dict):
    for panel in dashboard.get("panels", []):
        yield panel
        # Collapsed rows keep their panels inside.
        yield from panel.get("panels", [])


def dashboard_exprs(only: str | None):
    """Yields (dashboard uid, where, refId, expression) for every query."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        uid = dashboard.get("uid", path.stem)
        if only and only not in (uid, path.stem):
            continue
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable.get("query")
            query = query.get("query", "") if isinstance(query, dict) else query or ""
            match = LABEL_VALUES.match(query)
            if not match:
                raise SystemExit(f"{path.name}: variable {variable['name']}: only label_values(METRIC, LABEL) is supported")
            yield uid, f"variable ${variable['name']}", "-", f"group by ({match['label']}) ({match['selector']})"
        for panel in panels(dashboard):
            for t in panel.get("targets", []):
                if t.get("expr"):
                    yield uid, f"panel {panel.get('id')}: {panel.get('title', '')}", t.get("refId", ""), t["expr"]


def rule_exprs():
    import yaml  # only needed with --rules

    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            for rule in group.get("rules", []):
                name = rule.get("alert") or rule.get("record")
                kind = "alert" if "alert" in rule else "record"
                yield path.stem, f"{kind} {name}", group["name"], rule["expr"]


def main() -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tsv", action="store_true", help="print source, location, refId and expression, tab-separated, every occurrence")
    parser.add_argument("--raw", action="store_true", help="keep Grafana variables")
    parser.add_argument("--rules", action="store_true", help="also print alert and recording rule expressions")
    parser.add_argument("--dashboard", help="only this dashboard (uid or file name without .json)")
    parser.add_argument("--job", default="tasktracker", help="value for $job (default: tasktracker)")
    parser.add_argument("--rate-interval", default="1m", help="value for $__rate_interval and $__interval (default: 1m)")
    parser.add_argument("--range", default="1h", help="value for $__range (default: 1h)")
    args = parser.parse_args()

    rows = list(dashboard_exprs(args.dashboard))
    if args.rules:
        rows += list(rule_exprs())
    if not rows:
        print("no expressions found", file=sys.stderr)
        return 1

    seen: set[str] = set()
    for source, where, ref, expr in rows:
        expr = one_line(expr if args.raw else substitute(expr, args))
        if args.tsv:
            print(source, where, ref, expr, sep="\t")
        elif expr not in seen:
            seen.add(expr)
            print(expr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
