#!/usr/bin/env python3
"""Generates the Grafana dashboards in observability/grafana/dashboards/.

The JSON files are what Grafana provisions and what reviewers diff; this script
is where they are edited. After a change run

    python3 observability/grafana/generate_dashboards.py

and commit both. `--check` (used by observability/test.sh) fails when the JSON
on disk differs from what this script produces.

Dashboards read the recording rules in observability/prometheus/rules/ where
one exists (level:metric:operations names), so a panel and the alert on the
same signal always agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}

# The API, without gRPC health probes and reflection (as in the recording rules).
API = 'grpc_service!~"grpc[.](health|reflection)[.].+"'
RPC = 'job="$job", grpc_service=~"$service", grpc_method=~"$method"'
POSTGRES_DB = 'datname!~"template0|template1"'
NODE = 'instance=~"$node"'
FS = 'fstype!~"tmpfs|overlay|squashfs|nsfs|ramfs"'


# ---------------------------------------------------------------- building blocks


class Layout:
    """Places panels left to right, wrapping at Grafana's 24 columns."""

    def __init__(self) -> None:
        self.panels: list[dict] = []
        self.x = 0
        self.y = 0
        self.row_height = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def add(self, panel: dict, w: int, h: int) -> None:
        if self.x + w > 24:
            self._newline()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_height = max(self.row_height, h)

    def _newline(self) -> None:
        if self.x:
            self.y += self.row_height
        self.x = 0
        self.row_height = 0

    def numbered(self) -> list[dict]:
        for number, panel in enumerate(self.panels, start=1):
            panel["id"] = number
        return self.panels


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False, table: bool = False) -> dict:
    t = {
        "datasource": DS,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    if table:
        t["format"] = "table"
    return t


def targets(*specs: tuple[str, str]) -> list[dict]:
    return [target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(specs)]


def thresholds(*steps: tuple[float | None, str]) -> dict:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


GREEN = ((None, "green"),)


def timeseries(
    title: str,
    description: str,
    tgts: list[dict],
    unit: str = "short",
    threshold: float | None = None,
    stack: bool = False,
    minimum: float | None = 0,
    maximum: float | None = None,
) -> dict:
    custom = {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "thresholdsStyle": {"mode": "dashed" if threshold is not None else "off"},
    }
    steps = GREEN + (((threshold, "red"),) if threshold is not None else ())
    defaults: dict = {"unit": unit, "custom": custom, "thresholds": thresholds(*steps)}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    title: str,
    description: str,
    expr: str,
    unit: str = "short",
    steps: tuple = GREEN,
    legend: str = "",
    text_mode: str = "value",
    mappings: list | None = None,
    decimals: int | None = None,
) -> dict:
    defaults: dict = {"unit": unit, "thresholds": thresholds(*steps), "mappings": mappings or []}
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [target(expr, legend, instant=True)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background" if len(steps) > 1 or mappings else "value",
            "graphMode": "none",
            "textMode": text_mode,
            "justifyMode": "auto",
            "orientation": "auto",
        },
    }


UP_DOWN = [
    {
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": "red", "index": 0},
            "1": {"text": "UP", "color": "green", "index": 1},
        },
    }
]


def table(
    title: str,
    description: str,
    tgts: list[dict],
    overrides: list[dict],
    rename: dict,
    hide: tuple[str, ...] = ("Time", "job"),
) -> dict:
    return {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": overrides},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {name: True for name in hide}, "renameByName": rename}},
        ],
    }


def bargauge(title: str, description: str, expr: str, legend: str, unit: str = "short") -> dict:
    return {
        "type": "bargauge",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [target(expr, legend, instant=True)],
        "fieldConfig": {"defaults": {"unit": unit, "min": 0, "thresholds": thresholds(*GREEN)}, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
        },
    }


def unit_override(name: str, unit: str, decimals: int | None = None) -> dict:
    props = [{"id": "unit", "value": unit}]
    if decimals is not None:
        props.append({"id": "decimals", "value": decimals})
    return {"matcher": {"id": "byName", "options": name}, "properties": props}


# ------------------------------------------------------------------ variables


def datasource_var() -> dict:
    return {
        "type": "datasource",
        "name": "datasource",
        "label": "Data source",
        "query": "prometheus",
        "current": {"selected": True, "text": "Prometheus", "value": "prometheus"},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
    }


def query_var(name: str, label: str, query: str, multi: bool = True, default: str | None = None) -> dict:
    var = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "regex": "",
        "multi": multi,
        "includeAll": multi,
        "options": [],
    }
    if multi:
        var["allValue"] = ".*"
        var["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    elif default:
        var["current"] = {"selected": True, "text": default, "value": default}
    return var


JOB_VAR = query_var("job", "Job", "label_values(tasktracker_build_info, job)", multi=False, default="tasktracker")
INSTANCE_VAR = query_var("instance", "Instance", 'label_values(tasktracker_build_info{job="$job"}, instance)')


def dashboard(uid: str, title: str, description: str, tags: list[str], variables: list[dict], layout: Layout) -> dict:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["tasktracker", *tags],
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "schemaVersion": 39,
        "version": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "links": [
            {
                "type": "dashboards",
                "title": "Tasktracker",
                "tags": ["tasktracker"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "templating": {"list": [datasource_var(), *variables]},
        "panels": layout.numbered(),
    }


# ----------------------------------------------------------------- dashboards


def service_overview() -> dict:
    d = Layout()
    d.row("Service")
    d.add(
        stat(
            "Request rate",
            "API calls per second (health probes and reflection excluded), 5-minute rate.",
            'sum(job:grpc_server_requests:rate5m{job="$job"})',
            unit="reqps",
        ),
        4,
        4,
    )
    d.add(
        stat(
            "Error ratio",
            "Share of API calls ending in a server error (Unknown, Internal, Unavailable, DataLoss, "
            "DeadlineExceeded) over 5 minutes. Alert TasktrackerHighErrorRate pages above 1%.",
            'job:grpc_server_errors:ratio_rate5m{job="$job"}',
            unit="percentunit",
            steps=((None, "green"), (0.001, "orange"), (0.01, "red")),
            decimals=2,
        ),
        4,
        4,
    )
    d.add(
        stat(
            "p95 latency",
            "95th percentile duration of unary API calls over 5 minutes. "
            "Alert TasktrackerHighLatency pages above 500 ms.",
            'job:grpc_server_request_duration_seconds:p95_rate5m{job="$job"}',
            unit="s",
            steps=((None, "green"), (0.2, "orange"), (0.5, "red")),
        ),
        4,
        4,
    )
    d.add(
        stat(
            "Availability burn rate (1h)",
            "How fast the 99.9% availability error budget is spent: 1 spends it in exactly 30 days; "
            "14.4 over 1 hour pages.",
            'job:grpc_server_errors:ratio_rate1h{job="$job"} / 0.001',
            unit="none",
            steps=((None, "green"), (1, "orange"), (14.4, "red")),
            decimals=1,
        ),
        4,
        4,
    )
    d.add(
        stat(
            "Latency burn rate (1h)",
            "How fast the latency error budget (99.9% of unary calls within 500 ms) is spent; "
            "14.4 over 1 hour pages.",
            'job:grpc_server_slow_requests:ratio_rate1h{job="$job"} / 0.001',
            unit="none",
            steps=((None, "green"), (1, "orange"), (14.4, "red")),
            decimals=1,
        ),
        4,
        4,
    )
    d.add(
        stat(
            "Instances up",
            "Server instances Prometheus scrapes successfully.",
            'sum(up{job="$job"})',
            steps=((None, "red"), (1, "green")),
        ),
        4,
        4,
    )
    d.row("Service over time")
    d.add(
        timeseries(
            "Requests by status code",
            "API calls per second by gRPC status code.",
            [
                target(
                    f'sum by (grpc_code) (job_grpc_method_code:grpc_server_requests:rate5m{{job="$job", {API}}})',
                    "{{grpc_code}}",
                )
            ],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Error ratio",
            "Share of API calls ending in a server error, 5-minute window; the dashed line is the 1% alert threshold.",
            [target('job:grpc_server_errors:ratio_rate5m{job="$job"}', "server errors")],
            unit="percentunit",
            threshold=0.01,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Latency (unary calls)",
            "p50, p95 and p99 duration of unary API calls (WatchTasks streams excluded); "
            "the dashed line is the 500 ms p95 alert threshold.",
            targets(
                ('job:grpc_server_request_duration_seconds:p50_rate5m{job="$job"}', "p50"),
                ('job:grpc_server_request_duration_seconds:p95_rate5m{job="$job"}', "p95"),
                ('job:grpc_server_request_duration_seconds:p99_rate5m{job="$job"}', "p99"),
            ),
            unit="s",
            threshold=0.5,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Error budget burn rate",
            "Burn rate of both 99.9% SLOs over the alerting windows (1 = budget lasts exactly 30 days). "
            "Pages at 14.4 over 1h and 5m, or 6 over 6h and 30m.",
            targets(
                ('job:grpc_server_errors:ratio_rate5m{job="$job"} / 0.001', "availability 5m"),
                ('job:grpc_server_errors:ratio_rate1h{job="$job"} / 0.001', "availability 1h"),
                ('job:grpc_server_errors:ratio_rate6h{job="$job"} / 0.001', "availability 6h"),
                ('job:grpc_server_slow_requests:ratio_rate5m{job="$job"} / 0.001', "latency 5m"),
                ('job:grpc_server_slow_requests:ratio_rate1h{job="$job"} / 0.001', "latency 1h"),
                ('job:grpc_server_slow_requests:ratio_rate6h{job="$job"} / 0.001', "latency 6h"),
            ),
            unit="none",
            threshold=14.4,
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "In-flight calls",
            "Calls being served right now, per instance (WatchTasks streams included).",
            [target('sum by (instance) (grpc_server_requests_in_flight{job="$job", instance=~"$instance"})', "{{instance}}")],
        ),
        12,
        8,
    )

    d.row("Per RPC (RED)")
    d.add(
        table(
            "RPCs",
            "Rate, errors and duration of every RPC over the last 5 minutes.",
            [
                target(f'job_grpc_method:grpc_server_requests:rate5m{{{RPC}}}', ref="A", instant=True, table=True),
                target(f'job_grpc_method:grpc_server_errors:ratio_rate5m{{{RPC}}}', ref="B", instant=True, table=True),
                target(
                    f'job_grpc_method:grpc_server_request_duration_seconds:p50_rate5m{{{RPC}}}',
                    ref="C",
                    instant=True,
                    table=True,
                ),
                target(
                    f'job_grpc_method:grpc_server_request_duration_seconds:p95_rate5m{{{RPC}}}',
                    ref="D",
                    instant=True,
                    table=True,
                ),
                target(
                    f'job_grpc_method:grpc_server_request_duration_seconds:p99_rate5m{{{RPC}}}',
                    ref="E",
                    instant=True,
                    table=True,
                ),
            ],
            overrides=[
                unit_override("Requests/s", "reqps", 2),
                unit_override("Error ratio", "percentunit", 2),
                unit_override("p50", "s"),
                unit_override("p95", "s"),
                unit_override("p99", "s"),
            ],
            rename={
                "grpc_service": "Service",
                "grpc_method": "Method",
                "Value #A": "Requests/s",
                "Value #B": "Error ratio",
                "Value #C": "p50",
                "Value #D": "p95",
                "Value #E": "p99",
            },
        ),
        24,
        10,
    )
    d.add(
        timeseries(
            "Rate per RPC",
            "Calls per second, per RPC.",
            [target(f'job_grpc_method:grpc_server_requests:rate5m{{{RPC}}}', "{{grpc_method}}")],
            unit="reqps",
        ),
        8,
        9,
    )
    d.add(
        timeseries(
            "Error ratio per RPC",
            "Share of calls ending in a server error, per RPC.",
            [target(f'job_grpc_method:grpc_server_errors:ratio_rate5m{{{RPC}}}', "{{grpc_method}}")],
            unit="percentunit",
            threshold=0.01,
        ),
        8,
        9,
    )
    d.add(
        timeseries(
            "p95 latency per RPC",
            "95th percentile duration per RPC. WatchTasks shows how long subscriptions last, not latency.",
            [target(f'job_grpc_method:grpc_server_request_duration_seconds:p95_rate5m{{{RPC}}}', "{{grpc_method}}")],
            unit="s",
            threshold=0.5,
        ),
        8,
        9,
    )
    d.add(
        timeseries(
            "Non-OK responses per RPC",
            "Calls per second that did not end OK, per RPC and status code: client errors "
            "(InvalidArgument, NotFound, PermissionDenied, Aborted...) as well as server errors.",
            [
                target(
                    f'job_grpc_method_code:grpc_server_requests:rate5m{{{RPC}, grpc_code!="OK"}}',
                    "{{grpc_method}} {{grpc_code}}",
                )
            ],
            unit="reqps",
        ),
        12,
        9,
    )
    d.add(
        timeseries(
            "In-flight calls per RPC",
            "Calls being served right now, per RPC.",
            [
                target(
                    f'sum by (grpc_service, grpc_method) (grpc_server_requests_in_flight{{{RPC}, instance=~"$instance"}})',
                    "{{grpc_method}}",
                )
            ],
        ),
        12,
        9,
    )

    d.row("Live updates (WatchTasks)")
    d.add(
        timeseries(
            "Active watch streams",
            "Open WatchTasks subscriptions, per instance.",
            [target('sum by (instance) (tasktracker_watch_streams_active{job="$job", instance=~"$instance"})', "{{instance}}")],
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Watch events",
            "Task change events delivered to subscribers, and failed deliveries, per second.",
            targets(
                ('job:tasktracker_watch_events_delivered:rate5m{job="$job"}', "delivered"),
                ('job:tasktracker_watch_delivery_failures:rate5m{job="$job"}', "failed"),
            ),
            unit="ops",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Watch delivery failure ratio",
            "Share of event deliveries that failed; alert TasktrackerWatchDeliveryFailing tickets above 5%.",
            [target('job:tasktracker_watch_delivery_failures:ratio_rate5m{job="$job"}', "failed")],
            unit="percentunit",
            threshold=0.05,
        ),
        8,
        8,
    )
    return dashboard(
        "tasktracker-overview",
        "Tasktracker / Service overview",
        "Rate, errors and duration of the Tasktracker gRPC API, overall and per RPC, with the SLO burn rates.",
        ["red", "slo"],
        [
            JOB_VAR,
            INSTANCE_VAR,
            query_var("service", "Service", f'label_values(grpc_server_requests_total{{job="$job", {API}}}, grpc_service)'),
            query_var(
                "method",
                "Method",
                'label_values(grpc_server_requests_total{job="$job", grpc_service=~"$service"}, grpc_method)',
            ),
        ],
        d,
    )


def database() -> dict:
    d = Layout()
    d.row("Server's view")
    d.add(
        stat(
            "Database reachable",
            "The servers' database health probe (tasktracker_database_up), worst instance. "
            "Alert TasktrackerDatabaseUnavailable pages when it stays DOWN for 2 minutes.",
            'min(tasktracker_database_up{job="$job"})',
            mappings=UP_DOWN,
            steps=((None, "red"), (1, "green")),
        ),
        6,
        4,
    )
    d.add(
        stat(
            "Pool utilisation (busiest instance)",
            "Connections in use over the pool size. Alert TasktrackerDbPoolSaturated tickets at 90% for 10 minutes.",
            'max(instance:tasktracker_db_pool_utilisation:ratio{job="$job"})',
            unit="percentunit",
            steps=((None, "green"), (0.7, "orange"), (0.9, "red")),
        ),
        6,
        4,
    )
    d.add(
        stat(
            "Pool acquire p95",
            "95th percentile time a call waits for a database connection, 5 minutes.",
            'job:tasktracker_db_pool_acquire_duration_seconds:p95_rate5m{job="$job"}',
            unit="s",
            steps=((None, "green"), (0.01, "orange"), (0.1, "red")),
        ),
        6,
        4,
    )
    d.add(
        stat(
            "PostgreSQL exporter",
            "Whether postgres_exporter reaches PostgreSQL (pg_up).",
            "min(pg_up)",
            mappings=UP_DOWN,
            steps=((None, "red"), (1, "green")),
        ),
        6,
        4,
    )
    d.row("Connection pool")
    d.add(
        timeseries(
            "Pool connections",
            "Connections in use and idle per instance, and the pool size.",
            targets(
                (
                    'sum by (instance, state) (tasktracker_db_pool_connections{job="$job", instance=~"$instance"})',
                    "{{instance}} {{state}}",
                ),
                ('max by (instance) (tasktracker_db_pool_max_connections{job="$job", instance=~"$instance"})', "{{instance}} max"),
            ),
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Pool utilisation",
            "Connections in use over the pool size, per instance; the dashed line is the 90% alert threshold.",
            [target('instance:tasktracker_db_pool_utilisation:ratio{job="$job", instance=~"$instance"}', "{{instance}}")],
            unit="percentunit",
            threshold=0.9,
            maximum=1,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Pool acquire wait",
            "Time calls wait for a database connection.",
            targets(
                ('job:tasktracker_db_pool_acquire_duration_seconds:p95_rate5m{job="$job"}', "p95"),
                (
                    "histogram_quantile(0.99, sum by (le) (rate(tasktracker_db_pool_acquire_duration_seconds_bucket"
                    '{job="$job", instance=~"$instance"}[$__rate_interval])))',
                    "p99",
                ),
            ),
            unit="s",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Connection acquisitions",
            "Connections handed out per second, per instance.",
            [
                target(
                    "sum by (instance) (rate(tasktracker_db_pool_acquire_duration_seconds_count"
                    '{job="$job", instance=~"$instance"}[$__rate_interval]))',
                    "{{instance}}",
                )
            ],
            unit="ops",
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "Database health probe",
            "1 while the instance's database health probe succeeds.",
            [target('tasktracker_database_up{job="$job", instance=~"$instance"}', "{{instance}}")],
            maximum=1,
        ),
        12,
        8,
    )
    d.row("Task writes")
    d.add(
        timeseries(
            "Write transaction time",
            "Task writes from BEGIN to the end of COMMIT (tasktracker_task_write_duration_seconds), and the part "
            "holding the project's feed lock (taking the event number, appending the event, committing).",
            targets(
                (
                    "histogram_quantile(0.95, sum by (le) (rate(tasktracker_task_write_duration_seconds_bucket"
                    '{job="$job", instance=~"$instance"}[$__rate_interval])))',
                    "transaction p95",
                ),
                (
                    "histogram_quantile(0.95, sum by (le) (rate(tasktracker_feed_lock_hold_duration_seconds_bucket"
                    '{job="$job", instance=~"$instance"}[$__rate_interval])))',
                    "feed lock held p95",
                ),
            ),
            unit="s",
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "Feed lock share",
            "Share of write-transaction time spent holding a project's feed lock: writes of one project "
            "serialise only for this part. Near 1 means they queue one behind another.",
            [
                target(
                    'sum(rate(tasktracker_feed_lock_hold_duration_seconds_sum{job="$job", instance=~"$instance"}'
                    "[$__rate_interval])) / sum(rate(tasktracker_task_write_duration_seconds_sum"
                    '{job="$job", instance=~"$instance"}[$__rate_interval]))',
                    "lock share",
                )
            ],
            unit="percentunit",
            maximum=1,
        ),
        12,
        8,
    )
    d.row("PostgreSQL (postgres_exporter)")
    d.add(
        timeseries(
            "Backends",
            "Server processes connected to each database, and max_connections.",
            targets(
                (f"sum by (datname) (pg_stat_database_numbackends{{{POSTGRES_DB}}})", "{{datname}}"),
                ("max(pg_settings_max_connections)", "max_connections"),
            ),
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Transactions",
            "Commits and rollbacks per second, per database.",
            targets(
                (f"sum by (datname) (rate(pg_stat_database_xact_commit{{{POSTGRES_DB}}}[$__rate_interval]))", "{{datname}} commit"),
                (
                    f"sum by (datname) (rate(pg_stat_database_xact_rollback{{{POSTGRES_DB}}}[$__rate_interval]))",
                    "{{datname}} rollback",
                ),
            ),
            unit="ops",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Cache hit ratio",
            "Share of block reads served from shared buffers; below ~99% the working set no longer fits in memory.",
            [
                target(
                    f"sum by (datname) (rate(pg_stat_database_blks_hit{{{POSTGRES_DB}}}[$__rate_interval]))"
                    f" / (sum by (datname) (rate(pg_stat_database_blks_hit{{{POSTGRES_DB}}}[$__rate_interval]))"
                    f" + sum by (datname) (rate(pg_stat_database_blks_read{{{POSTGRES_DB}}}[$__rate_interval])))",
                    "{{datname}}",
                )
            ],
            unit="percentunit",
            minimum=None,
            maximum=1,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Rows",
            "Rows returned, fetched, inserted, updated and deleted per second, all databases.",
            targets(
                (f"sum(rate(pg_stat_database_tup_returned{{{POSTGRES_DB}}}[$__rate_interval]))", "returned"),
                (f"sum(rate(pg_stat_database_tup_fetched{{{POSTGRES_DB}}}[$__rate_interval]))", "fetched"),
                (f"sum(rate(pg_stat_database_tup_inserted{{{POSTGRES_DB}}}[$__rate_interval]))", "inserted"),
                (f"sum(rate(pg_stat_database_tup_updated{{{POSTGRES_DB}}}[$__rate_interval]))", "updated"),
                (f"sum(rate(pg_stat_database_tup_deleted{{{POSTGRES_DB}}}[$__rate_interval]))", "deleted"),
            ),
            unit="ops",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Deadlocks and conflicts",
            "Deadlocks and recovery conflicts per second.",
            targets(
                (f"sum by (datname) (rate(pg_stat_database_deadlocks{{{POSTGRES_DB}}}[$__rate_interval]))", "{{datname}} deadlocks"),
                (f"sum by (datname) (rate(pg_stat_database_conflicts{{{POSTGRES_DB}}}[$__rate_interval]))", "{{datname}} conflicts"),
            ),
            unit="ops",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Database size",
            "On-disk size of each database.",
            [target(f"pg_database_size_bytes{{{POSTGRES_DB}}}", "{{datname}}")],
            unit="bytes",
        ),
        8,
        8,
    )
    return dashboard(
        "tasktracker-database",
        "Tasktracker / Database",
        "The servers' connection pools and database health probe, and PostgreSQL itself (postgres_exporter).",
        ["database", "postgresql"],
        [JOB_VAR, INSTANCE_VAR],
        d,
    )


def business() -> dict:
    d = Layout()
    d.row("Over the selected time range")
    for title, metric, desc in (
        ("Tasks created", "tasktracker_tasks_created_total", "Tasks created in the selected time range."),
        ("Tasks completed", "tasktracker_tasks_completed_total", "Tasks moved to a done column in the selected time range."),
        ("Tasks deleted", "tasktracker_tasks_deleted_total", "Tasks deleted (soft) in the selected time range."),
    ):
        d.add(stat(title, desc, f'sum(increase({metric}{{job="$job"}}[$__range]))', decimals=0), 4, 4)
    d.add(
        stat(
            "Successful sign-ins",
            "Sign-ins that succeeded in the selected time range.",
            'sum(increase(tasktracker_sign_ins_total{job="$job", result="success"}[$__range]))',
            decimals=0,
        ),
        4,
        4,
    )
    d.add(
        stat(
            "Failed sign-in ratio",
            "Share of sign-in attempts that failed or were rate-limited in the selected time range; "
            "a jump suggests credential stuffing.",
            'sum(increase(tasktracker_sign_ins_total{job="$job", result!="success"}[$__range]))'
            ' / sum(increase(tasktracker_sign_ins_total{job="$job"}[$__range]))',
            unit="percentunit",
            steps=((None, "green"), (0.2, "orange"), (0.5, "red")),
        ),
        4,
        4,
    )
    d.add(
        stat(
            "Live collaborators",
            "Open WatchTasks streams right now: roughly the number of boards open in browsers.",
            'sum(tasktracker_watch_streams_active{job="$job"})',
        ),
        4,
        4,
    )
    d.row("Activity")
    d.add(
        timeseries(
            "Task activity",
            "Tasks created, completed and deleted per hour.",
            targets(
                ('sum(job:tasktracker_tasks_created:rate5m{job="$job"}) * 3600', "created"),
                ('sum(job:tasktracker_tasks_completed:rate5m{job="$job"}) * 3600', "completed"),
                ('sum(job:tasktracker_tasks_deleted:rate5m{job="$job"}) * 3600', "deleted"),
            ),
            unit="short",
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "Sign-ins",
            "Sign-in attempts per minute by result (success, failure, rate_limited).",
            [target('sum by (result) (job_result:tasktracker_sign_ins:rate5m{job="$job"}) * 60', "{{result}}")],
            stack=True,
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "Notifications",
            "Notifications made per hour, by kind (one per recipient): assignments, mentions, comments, "
            "state changes and unblocked tasks reaching people's inboxes.",
            [target('sum by (kind) (rate(tasktracker_notifications_created_total{job="$job"}[5m])) * 3600', "{{kind}}")],
            stack=True,
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "Open inboxes",
            "Open WatchNotifications streams: signed-in browser tabs showing the live unread badge.",
            [target('sum(tasktracker_notification_streams_active{job="$job"})', "streams")],
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "Emails",
            "Emails per hour: sent (accepted by the SMTP server) by kind, a notification kind or digest; "
            "and failed attempts (each retry counts).",
            targets(
                ('sum by (kind) (rate(tasktracker_emails_sent_total{job="$job"}[5m])) * 3600', "sent {{kind}}"),
                ('sum(rate(tasktracker_emails_failed_total{job="$job"}[5m])) * 3600', "failed"),
            ),
            unit="short",
        ),
        12,
        8,
    )
    d.add(
        timeseries(
            "Email outbox",
            "Emails due and not yet sent, and how long the oldest has waited (alert: 15 minutes). "
            "Digests and retries waiting for their time are not counted.",
            targets(
                ('max(tasktracker_email_outbox_backlog{job="$job"})', "due"),
                ('max(tasktracker_email_outbox_oldest_seconds{job="$job"})', "oldest (s)"),
            ),
            unit="short",
        ),
        12,
        8,
    )
    d.add(
        bargauge(
            "Most used RPCs",
            "API calls per RPC in the selected time range: what people and services actually do.",
            f'topk(10, sum by (grpc_method) (increase(grpc_server_requests_total{{job="$job", {API}}}[$__range])))',
            "{{grpc_method}}",
        ),
        12,
        10,
    )
    d.add(
        timeseries(
            "Completion ratio",
            "Tasks completed per task created, over a sliding day.",
            [
                target(
                    'sum(increase(tasktracker_tasks_completed_total{job="$job"}[1d]))'
                    ' / sum(increase(tasktracker_tasks_created_total{job="$job"}[1d]))',
                    "completed / created",
                )
            ],
            unit="percentunit",
        ),
        12,
        10,
    )
    return dashboard(
        "tasktracker-business",
        "Tasktracker / Business",
        "What people do with Tasktracker: tasks created, completed and deleted, sign-ins, live collaboration.",
        ["business"],
        [JOB_VAR],
        d,
    )


def infrastructure() -> dict:
    d = Layout()
    d.row("Server processes")
    d.add(
        table(
            "Instances",
            "Every scraped server instance: version, revision, uptime.",
            [
                target('max by (instance, version, revision) (tasktracker_build_info{job="$job"})', ref="A", instant=True, table=True),
                target('max by (instance) (time() - process_start_time_seconds{job="$job"})', ref="B", instant=True, table=True),
            ],
            overrides=[unit_override("Uptime", "s")],
            rename={"instance": "Instance", "version": "Version", "revision": "Revision", "Value #A": "Build info", "Value #B": "Uptime"},
        ),
        12,
        6,
    )
    d.add(
        table(
            "Scrape targets",
            "Every target Prometheus scrapes, 1 = up.",
            [target("up", ref="A", instant=True, table=True)],
            overrides=[],
            rename={"job": "Job", "instance": "Instance", "Value": "Up"},
            hide=("Time", "__name__"),
        ),
        12,
        6,
    )
    d.add(
        timeseries(
            "CPU",
            "CPU cores used by each server process.",
            [
                target(
                    'sum by (instance) (rate(process_cpu_seconds_total{job="$job", instance=~"$instance"}[$__rate_interval]))',
                    "{{instance}}",
                )
            ],
            unit="none",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Resident memory",
            "Resident set size of each server process; Watch streams are bounded, so it should plateau.",
            [target('process_resident_memory_bytes{job="$job", instance=~"$instance"}', "{{instance}}")],
            unit="bytes",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Open file descriptors",
            "Sockets and files held open by each server process.",
            [target('process_open_fds{job="$job", instance=~"$instance"}', "{{instance}}")],
        ),
        8,
        8,
    )
    d.row("Hosts (node_exporter)")
    d.add(
        timeseries(
            "CPU utilisation",
            "Share of CPU time not idle, per host.",
            [
                target(
                    f'1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle", {NODE}}}[$__rate_interval]))',
                    "{{instance}}",
                )
            ],
            unit="percentunit",
            maximum=1,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Load average",
            "1-minute load average per host, and its CPU count.",
            targets(
                (f"node_load1{{{NODE}}}", "{{instance}} load1"),
                (f'count by (instance) (node_cpu_seconds_total{{mode="idle", {NODE}}})', "{{instance}} CPUs"),
            ),
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Memory used",
            "Share of memory not available to new processes, per host.",
            [
                target(
                    f"1 - node_memory_MemAvailable_bytes{{{NODE}}} / node_memory_MemTotal_bytes{{{NODE}}}",
                    "{{instance}}",
                )
            ],
            unit="percentunit",
            maximum=1,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Disk space used",
            "Share of each filesystem in use.",
            [
                target(
                    f"1 - node_filesystem_avail_bytes{{{FS}, {NODE}}} / node_filesystem_size_bytes{{{FS}, {NODE}}}",
                    "{{instance}} {{mountpoint}}",
                )
            ],
            unit="percentunit",
            maximum=1,
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Disk I/O busy",
            "Share of time each disk is busy with I/O.",
            [
                target(
                    f"rate(node_disk_io_time_seconds_total{{{NODE}}}[$__rate_interval])",
                    "{{instance}} {{device}}",
                )
            ],
            unit="percentunit",
        ),
        8,
        8,
    )
    d.add(
        timeseries(
            "Network",
            "Bytes received and transmitted per second (loopback excluded).",
            targets(
                (
                    f'sum by (instance) (rate(node_network_receive_bytes_total{{device!="lo", {NODE}}}[$__rate_interval]))',
                    "{{instance}} received",
                ),
                (
                    f'sum by (instance) (rate(node_network_transmit_bytes_total{{device!="lo", {NODE}}}[$__rate_interval]))',
                    "{{instance}} transmitted",
                ),
            ),
            unit="Bps",
        ),
        8,
        8,
    )
    return dashboard(
        "tasktracker-infrastructure",
        "Tasktracker / Infrastructure",
        "Server processes (CPU, memory, file descriptors, versions) and the hosts under them (node_exporter).",
        ["infrastructure"],
        [JOB_VAR, INSTANCE_VAR, query_var("node", "Host", "label_values(node_uname_info, instance)")],
        d,
    )


DASHBOARDS = {
    "service-overview.json": service_overview,
    "database.json": database,
    "business.json": business,
    "infrastructure.json": infrastructure,
}


def render(build) -> str:
    return json.dumps(build(), indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the JSON on disk is not up to date")
    args = parser.parse_args()
    stale = []
    for name, build in DASHBOARDS.items():
        path = DASHBOARD_DIR / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print("out of date (run observability/grafana/generate_dashboards.py):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
