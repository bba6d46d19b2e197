#!/usr/bin/env python3
"""Runs a real Prometheus with Tasktracker's rules and evaluates every
dashboard and rule expression through its HTTP API.

Two modes:

  python3 observability/live_check.py
      Scrapes a built-in stand-in exporter that serves the metric names and
      labels the server, postgres_exporter and node_exporter export, with
      traffic that grows between scrapes. Every dashboard expression must
      return data. Used by observability/test.sh; needs no server.

  python3 observability/live_check.py --target 127.0.0.1:9464 [--wait 30]
      Scrapes a running server (job "tasktracker"), optionally also
      --postgres-target and --node-target. Send traffic (successes and
      failures) while it waits. The service overview (RED) dashboard must
      return data (--require-data picks other dashboards).

In both modes no expression may fail to evaluate and every recording and
alerting rule must evaluate with health "ok". Prometheus listens on a free
loopback port and stores its data in a temporary directory; it is stopped on
exit. Needs the `prometheus` binary (Debian package `prometheus`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # leave no __pycache__ in the work tree
import dashboard_exprs  # noqa: E402  (this directory, not a package)

RULES = HERE / "prometheus" / "rules"
BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


# ------------------------------------------------------------ stand-in exporter


def le(bound: float) -> str:
    # prometheus-client (Rust) writes bucket bounds as floats: 0.5, 1.0, 10.0.
    return repr(float(bound))


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, name: str, labels: dict, value: float) -> None:
        rendered = ",".join(f'{k}="{v}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{rendered}}} {value!r}" if labels else f"{name} {value!r}")

    def histogram(self, name: str, labels: dict, count: float, fraction_at_or_below, mean: float = 0.004) -> None:
        """Cumulative buckets: fraction_at_or_below(bound) of `count` calls, `mean` seconds each."""
        for bound in BUCKETS:
            self.add(f"{name}_bucket", {**labels, "le": le(bound)}, math.floor(count * fraction_at_or_below(bound)))
        self.add(f"{name}_bucket", {**labels, "le": "+Inf"}, math.floor(count))
        self.add(f"{name}_count", labels, math.floor(count))
        self.add(f"{name}_sum", labels, count * mean)

    def text(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()


def fast(bound: float) -> float:
    """Most calls within 5 ms, a tail to 250 ms, none slower than 500 ms."""
    return 0.0 if bound < 0.0025 else 0.5 if bound < 0.005 else 0.9 if bound < 0.025 else 0.99 if bound < 0.25 else 1.0


def server_metrics(t: float, started: float) -> bytes:
    e = Exposition()
    rpcs = [
        ("tasktracker.v1.TaskService", "CreateTask", {"OK": 5, "InvalidArgument": 0.2, "Aborted": 0.05}),
        ("tasktracker.v1.TaskService", "GetTask", {"OK": 20, "NotFound": 0.3, "PermissionDenied": 0.1}),
        ("tasktracker.v1.TaskService", "ListTasks", {"OK": 12, "Internal": 0.01}),
        ("tasktracker.v1.TaskService", "UpdateTask", {"OK": 4, "Aborted": 0.2, "Unavailable": 0.01}),
        ("tasktracker.v1.TaskService", "WatchTasks", {"Cancelled": 0.5}),
        ("tasktracker.v1.ProjectService", "ListProjects", {"OK": 3}),
        ("tasktracker.v1.AccountService", "SignIn", {"OK": 1, "Unauthenticated": 0.2}),
        ("grpc.health.v1.Health", "Check", {"OK": 2}),
    ]
    for service, method, codes in rpcs:
        rpc = {"grpc_service": service, "grpc_method": method}
        for code, per_second in codes.items():
            labels = {**rpc, "grpc_code": code}
            count = per_second * t
            e.add("grpc_server_requests_total", labels, math.floor(count))
            profile = (lambda bound: 0.0 if bound < 10 else 0.2) if method == "WatchTasks" else fast
            e.histogram("grpc_server_request_duration_seconds", labels, count, profile)
        e.add("grpc_server_requests_in_flight", rpc, 40 if method == "WatchTasks" else 1)
    e.add("tasktracker_db_pool_connections", {"state": "idle"}, 6)
    e.add("tasktracker_db_pool_connections", {"state": "in_use"}, 4)
    e.add("tasktracker_db_pool_max_connections", {}, 10)
    e.histogram("tasktracker_db_pool_acquire_duration_seconds", {}, 40 * t, fast)
    e.add("tasktracker_database_up", {}, 1)
    # Task writes (creates and updates above) and their time under the feed lock.
    e.histogram("tasktracker_task_write_duration_seconds", {}, 9 * t, fast)
    e.histogram("tasktracker_feed_lock_hold_duration_seconds", {}, 9 * t, fast, mean=0.0026)
    e.add("tasktracker_auth_revocations_live", {}, 1)
    e.add("tasktracker_watch_streams_active", {}, 40)
    e.add("tasktracker_watch_events_delivered_total", {}, math.floor(30 * t))
    e.add("tasktracker_watch_delivery_failures_total", {}, math.floor(0.1 * t))
    e.add("tasktracker_tasks_created_total", {}, math.floor(5 * t))
    e.add("tasktracker_tasks_completed_total", {}, math.floor(3 * t))
    e.add("tasktracker_tasks_deleted_total", {}, math.floor(0.5 * t))
    for kind, per_second in (("assigned", 0.5), ("mentioned", 0.3), ("commented", 1), ("state_changed", 2), ("unblocked", 0.1)):
        e.add("tasktracker_notifications_created_total", {"kind": kind}, math.floor(per_second * t))
    e.add("tasktracker_notification_streams_active", {}, 25)
    e.add("tasktracker_reminder_passes_total", {"result": "ok"}, math.floor(2 * t))
    e.add("tasktracker_reminder_delay_seconds", {}, 0.4)
    for outcome, per_second in (("delivered", 2), ("failed", 0.1), ("refused", 0.01)):
        e.add("tasktracker_webhook_deliveries_total", {"outcome": outcome}, math.floor(per_second * t))
    e.histogram("tasktracker_webhook_delivery_duration_seconds", {}, 2.1 * t, fast)
    e.add("tasktracker_webhook_backlog", {}, 3)
    e.add("tasktracker_webhook_oldest_pending_age_seconds", {}, 1.5)
    for kind, per_second in (("assigned", 0.4), ("mentioned", 0.2), ("digest", 0.05)):
        e.add("tasktracker_emails_sent_total", {"kind": kind}, math.floor(per_second * t))
        e.add("tasktracker_emails_failed_total", {"kind": kind}, math.floor(per_second / 50 * t))
    e.add("tasktracker_email_outbox_backlog", {}, 3)
    e.add("tasktracker_email_outbox_oldest_seconds", {}, 4.5)
    for result, per_second in (("success", 1), ("failure", 0.2), ("rate_limited", 0.05)):
        e.add("tasktracker_sign_ins_total", {"result": result}, math.floor(per_second * t))
    e.add("process_cpu_seconds_total", {}, 0.3 * t)
    e.add("process_resident_memory_bytes", {}, 48e6)
    e.add("process_open_fds", {}, 64)
    e.add("process_start_time_seconds", {}, started)
    e.add("tasktracker_build_info", {"version": "0.1.0", "revision": "0000000"}, 1)
    return e.text()


def postgres_metrics(t: float) -> bytes:
    e = Exposition()
    e.add("pg_up", {}, 1)
    e.add("pg_settings_max_connections", {"server": "postgres:5432"}, 100)
    for datname, scale in (("tasktracker", 1.0), ("postgres", 0.01), ("template1", 0.0)):
        db = {"datid": str(16384 + len(datname)), "datname": datname}
        e.add("pg_stat_database_numbackends", db, round(12 * scale))
        for metric, per_second in (
            ("xact_commit", 50), ("xact_rollback", 1), ("blks_hit", 5000), ("blks_read", 20),
            ("tup_returned", 900), ("tup_fetched", 400), ("tup_inserted", 10), ("tup_updated", 8),
            ("tup_deleted", 1), ("deadlocks", 0.01), ("conflicts", 0),
        ):
            e.add(f"pg_stat_database_{metric}", db, math.floor(per_second * scale * t))
        e.add("pg_database_size_bytes", {"datname": datname}, 8e6 + 1e9 * scale)
    return e.text()


def node_metrics(t: float) -> bytes:
    e = Exposition()
    for cpu in ("0", "1"):
        for mode, share in (("idle", 0.7), ("user", 0.2), ("system", 0.1)):
            e.add("node_cpu_seconds_total", {"cpu": cpu, "mode": mode}, share * t)
    e.add("node_load1", {}, 0.8)
    e.add("node_memory_MemAvailable_bytes", {}, 16e9)
    e.add("node_memory_MemTotal_bytes", {}, 24e9)
    fs = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    e.add("node_filesystem_avail_bytes", fs, 60e9)
    e.add("node_filesystem_size_bytes", fs, 100e9)
    e.add("node_disk_io_time_seconds_total", {"device": "sda"}, 0.05 * t)
    for device in ("eth0", "lo"):
        e.add("node_network_receive_bytes_total", {"device": device}, math.floor(2e5 * t))
        e.add("node_network_transmit_bytes_total", {"device": device}, math.floor(1e5 * t))
    e.add("node_uname_info", {"nodename": "stand-in", "release": "6.1.0", "sysname": "Linux"}, 1)
    return e.text()


def start_stand_in() -> ThreadingHTTPServer:
    started = time.time()
    # Counters start as if the process had run for a minute, so rates exist
    # from the second scrape on.
    routes = {
        "/metrics": lambda: server_metrics(time.time() - started + 60, started),
        "/postgres": lambda: postgres_metrics(time.time() - started + 60),
        "/node": lambda: node_metrics(time.time() - started + 60),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            route = routes.get(self.path)
            body = route() if route else b"not found\n"
            self.send_response(200 if route else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ------------------------------------------------------------------ Prometheus


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_config(targets: dict[str, tuple[str, str]], interval: str) -> str:
    """targets: job -> (host:port, metrics path)."""
    jobs = "".join(
        f"""  - job_name: {job}
    metrics_path: {path}
    static_configs:
      - targets: ["{address}"]
"""
        for job, (address, path) in targets.items()
    )
    rules = "".join(f'  - "{p}"\n' for p in sorted(RULES.glob("*.yml")))
    return f"""global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
  evaluation_interval: {interval}
rule_files:
{rules}scrape_configs:
{jobs}"""


class Prometheus:
    def __init__(self, binary: str, config: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "prometheus.yml").write_text(config)
        self.log = open(workdir / "prometheus.log", "w")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str, **params) -> dict:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}" if params else f"{self.url}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:  # 400/422 carry a JSON error body
            return json.load(error)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"prometheus exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit("prometheus did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---------------------------------------------------------------------- checks


def rule_health(prom: Prometheus) -> tuple[int, list[str], bool]:
    groups = prom.get("/api/v1/rules")["data"]["groups"]
    rules = [(g["name"], r) for g in groups for r in g["rules"]]
    evaluated = all(r.get("health") != "unknown" for _, r in rules)
    bad = [f"{g}/{r.get('name')}: {r.get('health')} {r.get('lastError', '')}" for g, r in rules if r.get("health") == "err"]
    return len(rules), bad, evaluated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", help="host:port of a running server's metrics listener (default: stand-in exporter)")
    parser.add_argument("--postgres-target", help="host:port of postgres_exporter (with --target)")
    parser.add_argument("--node-target", help="host:port of node_exporter (with --target)")
    parser.add_argument("--wait", type=float, default=None, help="seconds of scraping before evaluating (default: until 4 scrapes; 20 with --target)")
    parser.add_argument("--interval", default="1s", help="scrape and rule evaluation interval (default 1s)")
    parser.add_argument(
        "--require-data",
        action="append",
        metavar="DASHBOARD",
        help="dashboard uid whose expressions must all return data (default: every dashboard "
        "with the stand-in, tasktracker-overview with --target)",
    )
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus", help="prometheus binary")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (config, log, data)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tasktracker-live-check-"))
    stand_in = None
    if args.target:
        targets = {"tasktracker": (args.target, "/metrics")}
        if args.postgres_target:
            targets["postgres"] = (args.postgres_target, "/metrics")
        if args.node_target:
            targets["node"] = (args.node_target, "/metrics")
        wait = 20.0 if args.wait is None else args.wait
        required = set(args.require_data or ["tasktracker-overview"])
    else:
        stand_in = start_stand_in()
        address = f"127.0.0.1:{stand_in.server_address[1]}"
        targets = {"tasktracker": (address, "/metrics"), "postgres": (address, "/postgres"), "node": (address, "/node")}
        wait = 0.0 if args.wait is None else args.wait
        required = None  # every dashboard

    prom = Prometheus(args.prometheus, scrape_config(targets, args.interval), workdir)
    failures: list[str] = []
    try:
        prom.wait_ready()
        print(f"prometheus {prom.url} scraping {', '.join(f'{j}={a}' for j, (a, _) in targets.items())}; waiting {wait:g}s")
        time.sleep(wait)
        # Prometheus starts scraping a few seconds after it is ready: wait for
        # enough samples that every rate() has a few points.
        deadline = time.time() + 60
        while time.time() < deadline:
            counts = prom.get("/api/v1/query", query="count_over_time(up[5m])")["data"]["result"]
            if len(counts) == len(targets) and all(float(c["value"][1]) >= 4 for c in counts):
                break
            time.sleep(0.5)

        # Every target must have been scraped successfully.
        for job in targets:
            result = prom.get("/api/v1/query", query=f'up{{job="{job}"}}')["data"]["result"]
            if not result or result[0]["value"][1] != "1":
                failures.append(f"target {job} is not up: {result}")

        # Rules: wait until each has been evaluated once, then none may be in error.
        deadline = time.time() + 30
        while True:
            count, bad, evaluated = rule_health(prom)
            if evaluated or time.time() > deadline:
                break
            time.sleep(0.5)
        failures += [f"rule {b}" for b in bad]
        print(f"rules: {count} evaluated, {len(bad)} in error")

        # Dashboard and rule expressions.
        ns = argparse.Namespace(job="tasktracker", rate_interval="1m", range="1h")
        rows = [(s, w, r, dashboard_exprs.one_line(dashboard_exprs.substitute(e, ns))) for s, w, r, e in dashboard_exprs.dashboard_exprs(None)]
        rule_rows = [(s, w, r, dashboard_exprs.one_line(e)) for s, w, r, e in dashboard_exprs.rule_exprs()]
        with_data = empty = 0
        for source, where, _ref, expr in rows + rule_rows:
            answer = prom.get("/api/v1/query", query=expr)
            if answer.get("status") != "success":
                failures.append(f"{source} {where}: {answer.get('errorType')}: {answer.get('error')}\n    {expr}")
                continue
            if answer["data"]["result"]:
                with_data += 1
                continue
            empty += 1
            is_dashboard = not where.startswith(("alert ", "record "))
            if is_dashboard and (required is None or source in required):
                failures.append(f"{source} {where}: no data\n    {expr}")
        print(
            f"expressions: {len(rows)} from dashboards, {len(rule_rows)} from rules; "
            f"{with_data} returned data, {empty} empty (alerts are empty while all is well)"
        )
    finally:
        prom.stop()
        if stand_in:
            stand_in.shutdown()
        if args.keep or failures:
            print(f"kept {workdir} (config, prometheus.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print("live check:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
