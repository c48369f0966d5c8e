#!/usr/bin/env python3
"""The Xinfang benchmark: seed a fresh database, serve it, load it with oha, and compare
with the same reads as raw SQL under pgbench.

Run through bench/run.sh (which builds the release binary first); see bench/README.md.
Only the Python standard library is used, so nothing needs installing beyond oha and the
PostgreSQL client tools.
"""

import argparse
import hashlib
import datetime
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "xinfang")
PASSWORD = "bench-password-2026"
USERS = ["county_staff", "township_staff", "department_staff"]
JWT_SECRET = "bench-only-secret-not-for-production-0123456789"
# The benchmark's checkpoint key (an Ed25519 seed of 32 bytes of 9); signs nothing that matters.
AUDIT_KEY = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="

# The list op: 20 newest cases with each one's 5 latest timeline entries (`last: 5`). A
# server whose `timeline` has no `last` yet gets the 5 oldest (`first: 5`) instead; the
# results say which was measured.
LIST_QUERIES = {
    "last": (
        "{ cases(first: 20) { nodes { number title leadUnit { name } township { name } "
        "timeline(last: 5) { nodes { action at } } } } }"
    ),
    "first": (
        "{ cases(first: 20) { nodes { number title leadUnit { name } township { name } "
        "timeline(first: 5) { nodes { action at } } } } }"
    ),
}
LIST_QUERY = LIST_QUERIES["last"]
CASE_QUERY = (
    "query($id: ID!) { case(id: $id) { number title status "
    "petitioners { name idNumber phone } assistingUnits { name } "
    "referrals { mode toUnit { name } } } }"
)
# The stats op: `statistics` grouped by lead unit over one calendar year (China time), as a
# dashboard asks for it; "stats-all" is the same over every seeded case (three years).
STATS_QUERY = (
    "query($from: DateTime!, $to: DateTime!) { statistics(from: $from, to: $to, groupBy: UNIT) "
    "{ total { cases persons timelyAcceptanceRate onTimeCompletionRate satisfactionRate } "
    "groups { key label figures { cases persons groupPetitions repeats "
    "byStatus { status count } timelyAcceptanceRate onTimeCompletionRate satisfactionRate "
    "repeatRate firstTimeResolutionRate } } } }"
)
STATS_PERIODS = {
    "stats": ("2025-01-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00"),
    "stats-all": ("2020-01-01T00:00:00+08:00", "2030-01-01T00:00:00+08:00"),
}
REGISTER_MUTATION = (
    "mutation($input: RegisterCaseInput!) { registerCase(input: $input) "
    "{ case { id number status } } }"
)


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(cmd, **kwargs):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, text=True, **kwargs)


# ------------------------------------------------------------------------------------------
# Talking to the server


class Server:
    """A `xinfang serve` process we started and must stop."""

    def __init__(self, args, database_url, log_path):
        self.url = f"http://127.0.0.1:{args.port}"
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": database_url,
                "XINFANG_JWT_SECRET": JWT_SECRET,
                # Production signs audit checkpoints: a fixed key of the benchmark's own.
                "XINFANG_AUDIT_KEY": AUDIT_KEY,
                "XINFANG_STORAGE_DIR": os.path.join(os.path.dirname(log_path), "files"),
                "XINFANG_ENV": "production",
                "XINFANG_BIND": f"127.0.0.1:{args.port}",
                # Tokens must outlive the whole run (the default is 15 minutes).
                "XINFANG_ACCESS_TOKEN_TTL": "3600",
                "XINFANG_LOG": "warn",
                "XINFANG_LOG_FORMAT": "json",
            }
        )
        self.log_file = open(log_path, "a")
        self.proc = subprocess.Popen(
            [BINARY, "serve"], env=env, stdout=self.log_file, stderr=self.log_file
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited at start; see {log_path}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        log(f"server ready (pid {self.proc.pid})")
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit("the server did not become ready within 120 s")

    def wait_idle(self, args):
        """Waits until the work of the last measurement has drained.

        The load tool stops after its time, but requests it had sent keep running in the
        server (a `statistics` queued at concurrency 64 finishes seconds later), and would
        otherwise be measured as part of the next operation. Idle means: the server used
        under 5% of a core over half a second and, on PostgreSQL, no query of the benchmark
        database is active."""
        deadline = time.time() + 120
        while time.time() < deadline:
            before = self.cpu_ticks()
            time.sleep(0.5)
            busy = self.cpu_ticks() - before > 0.05 * 0.5 * os.sysconf("SC_CLK_TCK")
            if not busy and not args.sqlite:
                active = psql(
                    args,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND pid <> pg_backend_pid()",
                )
                busy = active not in ("", "0")
            if not busy:
                return
        log("the server did not go idle within 120 s; measuring anyway")

    def cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def memory(self):
        """(peak RSS, current RSS) of the server in MiB, from /proc."""
        values = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0]) / 1024
        return values.get("VmHWM", 0.0), values.get("VmRSS", 0.0)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()

    def graphql(self, query, variables=None, token=None, extensions=None):
        payload = {"query": query, "variables": variables or {}}
        if extensions:
            payload["extensions"] = extensions
        body = json.dumps(payload).encode()
        req = urllib.request.Request(
            self.url + "/graphql",
            data=body,
            headers={"content-type": "application/json"},
        )
        if token:
            req.add_header("authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.load(r)
        if answer.get("errors"):
            raise SystemExit(f"GraphQL error: {answer['errors']}")
        return answer["data"]


def login(server, username):
    data = server.graphql(
        "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) "
        "{ accessToken } }",
        {"u": username, "p": PASSWORD},
    )
    return data["login"]["accessToken"]


def pick_case(server, token):
    """A visible case with as much to show as possible (assisting units, referrals)."""
    data = server.graphql(
        "{ cases(first: 100) { nodes { id number assistingUnits { name } "
        "referrals { mode } petitioners { name } } } }",
        token=token,
    )
    nodes = data["cases"]["nodes"]
    if not nodes:
        raise SystemExit("this user sees no case; seed more cases")
    nodes.sort(
        key=lambda n: (len(n["assistingUnits"]) > 0, len(n["referrals"]) > 0),
        reverse=True,
    )
    return nodes[0]


def viewer_unit(server, token):
    data = server.graphql("{ viewer { orgUnit { id name kind } } }", token=token)
    return data["viewer"]["orgUnit"]


def townships(server, token):
    data = server.graphql("{ orgUnits { nodes { id name kind } } }", token=token)
    return [u for u in data["orgUnits"]["nodes"] if u["kind"] == "TOWNSHIP"]


def id_number(n):
    """A valid resident ID number (GB 11643 check digit), different for each n < 20M."""
    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=(n // 1000) % 20_000)
    first17 = f"130534{birth:%Y%m%d}{n % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


def register_input(key, township_id, n=0):
    # A new person each time: with one ID number for every request, each registration
    # would look for earlier matters of a person who has thousands of them by the end of
    # the run (repeat detection), and the benchmark would measure that pile-up instead.
    return {
        "channel": "VISIT",
        "category": "APPEAL",
        "subject": "MIGRANT_WORKER_WAGES",
        "title": "工地拖欠农民工工资（压测）",
        "content": "信访人反映某建筑工地拖欠工资三个月，请求协调解决。此件由压测脚本登记。",
        "townshipId": township_id,
        "petitioners": [
            {"name": "张三", "idNumber": id_number(n), "phone": f"139{n % 100_000_000:08d}"}
        ],
        "idempotencyKey": key,
    }


# ------------------------------------------------------------------------------------------
# Load


def oha(server, token, concurrency, duration, out_json, body):
    cmd = [
        "oha",
        "--no-tui",
        "--output-format",
        "json",
        "-o",
        out_json,
        "-z",
        f"{duration}s",
        "-w",
        "-c",
        str(concurrency),
        "-m",
        "POST",
        "-T",
        "application/json",
        "-H",
        f"authorization: Bearer {token}",
    ]
    cmd += ["-d", body, server.url + "/graphql"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out_json) as f:
        result = json.load(f)
    summary = result["summary"]
    statuses = result.get("statusCodeDistribution", {})
    ok = statuses.get("200", 0)
    total = sum(statuses.values())
    return {
        "rps": summary["requestsPerSec"],
        "p50_ms": result["latencyPercentiles"]["p50"] * 1000,
        "p99_ms": result["latencyPercentiles"]["p99"] * 1000,
        "requests": total,
        "non_200": total - ok,
    }


def register_load(server, token, concurrency, duration, key_prefix, township_id):
    """Drives `registerCase` with a fresh idempotency key per request.

    oha cannot do this: its `-Z` sends lines of a file as bodies but picks them at random,
    so keys repeat (a short trial replayed 91 of 1,734 requests) and a replay is cheaper than
    a registration. This driver is a thread per connection with keep-alive, which is
    plenty for a mutation that runs at a few hundred per second; it also checks each answer
    for GraphQL errors, which come with HTTP 200.
    """
    import http.client
    import threading

    host, port = server.url.removeprefix("http://").split(":")
    lock = threading.Lock()
    # Numbers go on from the run's start time, so reruns on a reused database use new people.
    counter = [int(time.time()) % 10_000 * 1_000]
    latencies = []
    errors = []
    started = time.perf_counter()
    deadline = started + duration

    def worker():
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        mine = []
        while True:
            with lock:
                if time.perf_counter() >= deadline:
                    break
                counter[0] += 1
                n = counter[0]
                key = f"{key_prefix}-{n}"
            body = json.dumps(
                {
                    "query": REGISTER_MUTATION,
                    "variables": {"input": register_input(key, township_id, n)},
                }
            )
            t0 = time.perf_counter()
            conn.request("POST", "/graphql", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 200 or b'"errors"' in payload:
                with lock:
                    errors.append(payload[:300].decode(errors="replace"))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    if errors:
        log(f"warning: {len(errors)} register requests failed, e.g. {errors[0]}")

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "requests": len(latencies),
        "errors": len(errors),
    }


def pgbench(args, script_path, concurrency, duration, log_prefix, rate=None):
    """The script under pgbench: as fast as it goes, or `rate` transactions per second (the
    pace the API kept, for database CPU compared at equal load)."""
    for old in glob.glob(log_prefix + ".*"):
        os.remove(old)
    cmd = [
        "pgbench",
        "-n",
        "-M",
        "prepared",
        "-h",
        args.pg_host,
        "-p",
        str(args.pg_port),
        "-U",
        args.pg_user,
        "-f",
        script_path,
        "-c",
        str(concurrency),
        "-j",
        str(min(concurrency, os.cpu_count() or 1)),
        "-T",
        str(duration),
        "-l",
        "--log-prefix",
        log_prefix,
        *(["-R", f"{rate:.0f}"] if rate else []),
        args.db,
    ]
    out = run(cmd, capture_output=True).stdout
    tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out).group(1))
    latencies = []
    for path in glob.glob(log_prefix + ".*"):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(int(parts[2]) / 1000.0)
        os.remove(path)
    latencies.sort()

    def pct(p):
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]

    return {"rps": tps, "p50_ms": pct(0.50), "p99_ms": pct(0.99), "requests": len(latencies)}


# ------------------------------------------------------------------------------------------
# The same reads as SQL


def postgres_cpu_ticks():
    """CPU ticks (user + system) of every PostgreSQL server process on the machine: the
    backends serving the API or pgbench, and the background processes. Backends that exited
    (pgbench's, at its end) are counted through the postmaster's reaped-children times."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime, stime, and the times of children it has waited for (cutime, cstime).
            total += sum(int(x) for x in fields[11:15])
        except OSError:
            continue
    return total


def cpu_ms_per_request(ticks, rps, duration):
    """Milliseconds of CPU per request, from ticks spent over a measurement."""
    requests = rps * duration
    if requests <= 0:
        return None
    return round(ticks * 1000.0 / os.sysconf("SC_CLK_TCK") / requests, 3)


# The ops whose SQL also runs at the pace the API kept: a list or a case is a statement that
# costs the database a fraction of a millisecond, where what an idle backend pays to wake up
# and the database's own background work are a visible share. Compared only with the SQL run
# flat out (several times the API's rate), the API's database CPU per request carries those
# costs and the SQL's hardly any. That was so at c=8; at c=1 pacing made no such difference
# for lists (bench/README.md, "Database CPU at equal load" and the results of 2026-12-05).
PACED_OPS = ("list", "list-apq", "case")


def sql_load(args, server, script, concurrency, out_dir, rate=None):
    """The SQL counterpart under pgbench, with the database's CPU per transaction."""
    server.wait_idle(args)
    db_cpu = postgres_cpu_ticks()
    sql = pgbench(
        args, script, concurrency, args.duration, os.path.join(out_dir, "pgbench"), rate=rate
    )
    sql["db_cpu_ms"] = cpu_ms_per_request(postgres_cpu_ticks() - db_cpu, sql["rps"], args.duration)
    return sql


def with_cpu(server, args, load):
    """Runs `load()` (which returns a result with `rps`) and adds the server's and the
    database's CPU per request to that result (none for the database on SQLite, whose work
    is the server's)."""
    cpu, db_cpu = server.cpu_ticks(), postgres_cpu_ticks()
    result = load()
    result["server_cpu_ms"] = cpu_ms_per_request(
        server.cpu_ticks() - cpu, result["rps"], args.duration
    )
    result["db_cpu_ms"] = (
        None
        if args.sqlite
        else cpu_ms_per_request(postgres_cpu_ticks() - db_cpu, result["rps"], args.duration)
    )
    return result


def psql(args, sql):
    out = run(
        [
            "psql",
            "-X",
            "-At",
            "-h",
            args.pg_host,
            "-p",
            str(args.pg_port),
            "-U",
            args.pg_user,
            "-d",
            args.db,
            "-c",
            sql,
        ],
        capture_output=True,
    ).stdout
    return out.strip()


def scope_sql(args, username):
    """`Viewer::case_scope` (api/src/access.rs) for a staff account, written out as SQL."""
    row = psql(
        args,
        "SELECT o.id, o.kind, o.petition_bureau, o.county_id, o.path FROM users u "
        f"JOIN org_units o ON o.id = u.org_unit_id WHERE u.username = '{username}'",
    )
    unit_id, kind, bureau, county_id, path = row.split("|")
    ancestors = ",".join(p for p in path.split("/") if p)
    not_accused = f"(cases.accused_unit_id IS NULL OR cases.accused_unit_id NOT IN ({ancestors}))"
    if bureau == "t":
        return f"cases.county_id = {county_id}"
    if kind == "COUNTY":
        return f"cases.county_id = {county_id} AND {not_accused}"
    # The relation-row scope also names the county, which lets the database walk the county's
    # newest cases by index; without it this SQL scans every case.
    return (
        "EXISTS (SELECT 1 FROM case_units WHERE case_units.case_id = cases.id "
        f"AND case_units.unit_id = {unit_id}) AND {not_accused} "
        f"AND cases.county_id = {county_id}"
    )


def sight_unit(args, username):
    """The unit whose `case_sight` rows a township's or department's list walks (None for the
    county unit and the bureau), as `Viewer::sight_unit` decides it."""
    row = psql(
        args,
        "SELECT o.id, o.kind, o.petition_bureau FROM users u "
        f"JOIN org_units o ON o.id = u.org_unit_id WHERE u.username = '{username}'",
    )
    unit_id, kind, bureau = row.split("|")
    return None if bureau == "t" or kind == "COUNTY" else int(unit_id)


def list_sql(scope, timeline, unit=None):
    # The page the server reads (every column, newest first, one extra row for hasNextPage),
    # with the unit names and five timeline entries (the latest, or the first, as the API
    # request asks) joined in one statement: what the list op returns, fetched as a
    # hand-written query would. A township or department walks its own case_sight rows, as
    # the server does (the join makes the EXISTS of the scope redundant, so it is left out).
    order = "seq DESC" if timeline == "last" else "seq"
    if unit is None:
        page = f"""SELECT * FROM cases WHERE {scope}
  ORDER BY cases.received_at DESC, cases.id DESC LIMIT 21"""
    else:
        rest = scope.split(") AND ", 1)[1]  # what follows the EXISTS (…)
        page = f"""SELECT cases.* FROM case_sight s JOIN cases ON cases.id = s.case_id
  WHERE s.unit_id = {unit} AND {rest}
  ORDER BY s.received_at DESC, s.case_id DESC LIMIT 21"""
    return f"""WITH page AS (
  {page}
)
SELECT p.*, lead.name AS lead_name, town.name AS township_name, e.action, e.at
FROM page p
JOIN org_units lead ON lead.id = p.lead_unit_id
LEFT JOIN org_units town ON town.id = p.township_id
LEFT JOIN LATERAL (
  SELECT action, at FROM case_events WHERE case_events.case_id = p.id ORDER BY {order} LIMIT 5
) e ON true
ORDER BY p.received_at DESC, p.id DESC, e.at;
"""


def case_sql(scope, case_id):
    return f"""\\set id {case_id}
SELECT * FROM cases WHERE cases.id = :id AND {scope};
SELECT * FROM case_petitioners WHERE case_id = :id ORDER BY position;
SELECT o.name FROM case_units cu JOIN org_units o ON o.id = cu.unit_id
  WHERE cu.case_id = :id AND cu.relation = 'ASSISTING';
SELECT r.mode, o.name FROM referrals r JOIN org_units o ON o.id = r.to_unit_id
  WHERE r.case_id = :id ORDER BY r.id;
"""


def stats_sql(scope, period):
    """The statistics the server computes (api/src/stats.rs), written by hand: one pass over
    the viewer's cases of the period with their evaluations, grouped by lead unit, with the
    unit names joined."""
    start, end = period
    statuses = [
        "REGISTERED", "IN_PROGRESS", "REPORTED", "REPLIED", "UNDER_REVIEW", "REVIEWED",
        "UNDER_RE_REVIEW", "FINALIZED", "NOT_ACCEPTED", "CLOSED",
    ]
    by_status = ",\n  ".join(
        f"count(*) FILTER (WHERE status = '{st}') AS s_{st.lower()}" for st in statuses
    )
    return f"""SELECT g.*, o.name FROM (
SELECT cases.lead_unit_id,
  count(*) AS cases,
  coalesce(sum(person_count), 0) AS persons,
  count(*) FILTER (WHERE person_count >= 5) AS group_petitions,
  count(*) FILTER (WHERE repeat_of_id IS NOT NULL) AS repeats,
  count(*) FILTER (WHERE accept_decided_at <= accept_by) AS accepted_on_time,
  count(*) FILTER (WHERE accept_decided_at > accept_by) AS accepted_late,
  count(*) FILTER (WHERE accept_decided_at IS NULL AND accept_by < now()) AS undecided_overdue,
  count(*) FILTER (WHERE replied_at <= handle_by) AS replied_on_time,
  count(*) FILTER (WHERE replied_at > handle_by) AS replied_late,
  count(*) FILTER (WHERE replied_at IS NULL AND handle_by < now()) AS unreplied_overdue,
  count(*) FILTER (WHERE ev.satisfaction IN ('SATISFIED', 'BASICALLY_SATISFIED')) AS satisfied,
  count(ev.case_id) AS rated,
  count(*) FILTER (WHERE replied_at IS NOT NULL AND ev.case_id IS NULL
                   AND review_request_by < now()) AS unrated_lapsed,
  count(*) FILTER (WHERE repeat_of_id IS NULL AND status IN ('CLOSED', 'FINALIZED')) AS first_closed,
  count(*) FILTER (WHERE repeat_of_id IS NULL AND status IN ('CLOSED', 'FINALIZED')
                   AND reviewing_unit_id IS NULL) AS first_closed_without_review,
  {by_status}
FROM cases LEFT JOIN evaluations ev ON ev.case_id = cases.id
WHERE {scope} AND cases.received_at >= '{start}' AND cases.received_at < '{end}'
GROUP BY cases.lead_unit_id
) g JOIN org_units o ON o.id = g.lead_unit_id;
"""


def decode_id(global_id):
    import base64

    padded = global_id + "=" * (-len(global_id) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().split(":")[1])


# ------------------------------------------------------------------------------------------
# Explain plans of the list query, as the server runs it


def explain_list(args, server_factory, tokens, out_dir):
    logs = sorted(glob.glob("/var/log/postgresql/postgresql-*-main.log"))
    pg_log = args.pg_log or (logs[-1] if logs else None)
    if not pg_log or not os.access(pg_log, os.R_OK):
        log("no readable PostgreSQL log; skipping the explain plans (give --pg-log)")
        return None
    settings = {
        "session_preload_libraries": "'auto_explain'",
        "auto_explain.log_min_duration": "0",
        "auto_explain.log_analyze": "on",
        "auto_explain.log_buffers": "on",
        "auto_explain.log_timing": "on",
    }
    for key, value in settings.items():
        psql(args, f"ALTER DATABASE {args.db} SET {key} = {value}")
    plans = {}
    try:
        # New connections pick up the settings: a fresh server process has only new ones.
        server = server_factory()
        try:
            for username, token in tokens.items():
                start = os.path.getsize(pg_log)
                server.graphql(LIST_QUERY, token=token)
                time.sleep(1.0)
                with open(pg_log, errors="replace") as f:
                    f.seek(start)
                    text = f.read()
                plans[username] = extract_list_plan(text)
        finally:
            server.stop()
    finally:
        for key in settings:
            psql(args, f"ALTER DATABASE {args.db} RESET {key}")
    with open(os.path.join(out_dir, "explain-list.txt"), "w") as f:
        for username, plan in plans.items():
            f.write(f"=== {username}\n{plan}\n\n")
    return plans


def extract_list_plan(text):
    """The auto_explain entry of the page query (the one ordered by received time: the
    case's own, or for a township or department that of its `case_sight` rows)."""
    entries = re.split(r"\n(?=\S.*LOG:  duration: )", text)
    for entry in entries:
        if "plan:" in entry and (
            'ORDER BY "cases"."received_at" DESC' in entry
            or 'ORDER BY "s"."received_at" DESC' in entry
        ):
            body = entry.split("plan:", 1)[1]
            return "\n".join(line.rstrip() for line in body.strip("\n").splitlines())
    return "(not found in the log)"


# ------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--sqlite", action="store_true", help="seed and serve SQLite instead")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument(
        "--pg-host",
        default=os.environ.get("PGHOST", "/var/run/postgresql"),
        help="PostgreSQL host, or a Unix-socket directory (the default); both the server "
        "and pgbench connect through it",
    )
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--pg-log", help="the PostgreSQL server log, for the explain plans")
    parser.add_argument("--db", default="xinfang_bench", help="database (PostgreSQL) name")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--ops", default="list,case,stats,stats-all,register")
    parser.add_argument(
        "--timeline",
        choices=["last", "first"],
        default="last",
        help="the list op's timeline: the 5 latest entries (default) or the 5 first",
    )
    parser.add_argument("--out", help="results directory (default bench/out/<time>)")
    args = parser.parse_args()

    if not os.path.exists(BINARY):
        raise SystemExit(f"{BINARY} is missing: cargo build --release -p xinfang")
    if not args.sqlite:
        for tool in ("psql", "createdb", "dropdb", "pgbench"):
            if not shutil.which(tool):
                raise SystemExit(f"{tool} is missing (PostgreSQL client tools)")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    ops = args.ops.split(",")
    # Registrations are driven from Python; every other operation needs oha.
    if any(op != "register" for op in ops) and not shutil.which("oha"):
        raise SystemExit("oha is missing: cargo install oha --locked")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or os.path.join(ROOT, "bench", "out", stamp)
    os.makedirs(out_dir, exist_ok=True)

    # 1. A fresh database, seeded.
    if args.sqlite:
        path = os.path.join(out_dir, "bench.db")
        database_url = f"sqlite://{path}?mode=rwc"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
    else:
        if args.pg_host.startswith("/"):
            # A Unix-socket directory: the server and pgbench both connect through it.
            database_url = (
                f"postgres://{args.pg_user}@localhost:{args.pg_port}/{args.db}"
                f"?host={args.pg_host}"
            )
        else:
            database_url = (
                f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.db}"
            )
        if not args.reuse:
            pg = ["-h", args.pg_host, "-p", str(args.pg_port), "-U", args.pg_user]
            run(["dropdb", "--if-exists", *pg, args.db])
            run(["createdb", *pg, args.db])
    seed_seconds = None
    if not args.reuse:
        started = time.time()
        seeded = run(
            [
                BINARY,
                "--database-url",
                database_url,
                "--storage-dir",
                os.path.join(out_dir, "files"),
                "seed",
                "--cases",
                str(args.cases),
            ],
            capture_output=True,
        )
        seed_seconds = time.time() - started
        with open(os.path.join(out_dir, "seed.txt"), "w") as f:
            f.write(seeded.stdout)
        print(seeded.stdout, file=sys.stderr)

    # 2. The server, and one token per user.
    server_log = os.path.join(out_dir, "server.log")
    server = Server(args, database_url, server_log)
    results = []
    plans = None
    try:
        tokens = {u: login(server, u) for u in USERS}
        units = {u: viewer_unit(server, tokens[u]) for u in USERS}
        towns = townships(server, tokens["county_staff"])
        cases = {u: pick_case(server, tokens[u]) for u in USERS}
        for u in USERS:
            log(f"{u}: unit {units[u]['name']}, case {cases[u]['number']}")
        global LIST_QUERY
        timeline = args.timeline
        if timeline == "last":
            try:
                server.graphql(LIST_QUERIES["last"], token=tokens["county_staff"])
            except SystemExit as e:
                log(f"this server has no timeline(last:) ({e}); measuring timeline(first: 5)")
                timeline = "first"
        LIST_QUERY = LIST_QUERIES[timeline]
        # Check once that every operation answers without GraphQL errors: oha sees only the
        # HTTP status, and GraphQL errors come with 200.
        for u in USERS:
            server.graphql(LIST_QUERY, token=tokens[u])
            server.graphql(CASE_QUERY, {"id": cases[u]["id"]}, token=tokens[u])
        if not args.sqlite:
            # The server's start-up work (deadline notices for the seeded cases) has written
            # tables since the seed analyzed them. Where autovacuum is off, as it is on the
            # machine the README's numbers come from, PostgreSQL would plan with the seed's
            # statistics for the whole run; analyze once that work is done.
            server.wait_idle(args)
            # The users' statistics come from folded days once the server has folded
            # them all (a new database: every day once, for every unit's scope; a reused
            # one: what changed since, or every day again for scopes not folded before;
            # today is never folded, so its marks stay and are not waited for).
            # Measure that, not the minutes of the first fold.
            if any(op.startswith("stats") for op in args.ops.split(",")):
                started = time.time()
                users = ", ".join(f"'{u}'" for u in USERS)
                while True:
                    row = psql(
                        args,
                        "SELECT (SELECT count(*) FROM stat_scopes s JOIN users u"
                        " ON u.org_unit_id = s.unit_id"
                        f" WHERE u.username IN ({users}) AND s.ready_at IS NOT NULL)"
                        " || ' ' || (SELECT count(*) FROM stat_dirty d JOIN cases c"
                        " ON c.id = d.case_id WHERE c.received_at <"
                        " date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')"
                        " AT TIME ZONE 'Asia/Shanghai')",
                    )
                    ready, marks = (int(x) for x in row.split())
                    if ready == len(USERS) and marks < 1000:
                        break
                    time.sleep(2)
                log(f"statistics days folded ({time.time() - started:.0f} s waited)")
                server.wait_idle(args)
            psql(args, "ANALYZE")

        def record(op, user, concurrency, api, sql=None, paced=None):
            peak, current = server.memory()
            row = {
                "op": op,
                "user": user,
                "concurrency": concurrency,
                "api": api,
                "sql": sql,
                "sql_at_api_rate": paced,
                "server_peak_rss_mib": round(peak, 1),
                "server_rss_mib": round(current, 1),
            }
            results.append(row)
            ratio = f"{api['rps'] / sql['rps']:.3f}" if sql else "-"
            log(
                f"{op:<8} {user:<17} c={concurrency:<3} api {api['rps']:8.1f}/s "
                f"p50 {api['p50_ms']:7.2f} ms p99 {api['p99_ms']:7.2f} ms"
                + (f" | sql {sql['rps']:8.1f}/s p50 {sql['p50_ms']:6.2f} ms" if sql else "")
                + f" | api/sql {ratio} | peak RSS {peak:.0f} MiB"
                + (
                    f" | CPU ms/req server {api['server_cpu_ms']} db {api['db_cpu_ms']}"
                    + (f" (sql db {sql['db_cpu_ms']})" if sql else "")
                    + (f" (sql at the api's rate: db {paced['db_cpu_ms']})" if paced else "")
                    if "server_cpu_ms" in api
                    else ""
                )
            )

        scripts = os.path.join(out_dir, "sql")
        os.makedirs(scripts, exist_ok=True)
        for op in ("list", "list-apq", "case", "stats", "stats-all"):
            if op not in ops:
                continue
            for u in USERS:
                if op == "list":
                    body = json.dumps({"query": LIST_QUERY})
                elif op == "list-apq":
                    # The list as a mobile client sends it after the first time: by the hash
                    # of its text alone (automatic persisted queries).
                    persisted = {
                        "persistedQuery": {
                            "version": 1,
                            "sha256Hash": hashlib.sha256(LIST_QUERY.encode()).hexdigest(),
                        }
                    }
                    server.graphql(LIST_QUERY, token=tokens[u], extensions=persisted)
                    body = json.dumps({"extensions": persisted})
                elif op == "case":
                    body = json.dumps({"query": CASE_QUERY, "variables": {"id": cases[u]["id"]}})
                else:
                    start, end = STATS_PERIODS[op]
                    variables = {"from": start, "to": end}
                    server.graphql(STATS_QUERY, variables, token=tokens[u])
                    body = json.dumps({"query": STATS_QUERY, "variables": variables})
                script = None
                if not args.sqlite:
                    scope = scope_sql(args, u)
                    script = os.path.join(scripts, f"{op}-{u}.sql")
                    with open(script, "w") as f:
                        if op in ("list", "list-apq"):
                            f.write(list_sql(scope, timeline, sight_unit(args, u)))
                        elif op == "case":
                            f.write(case_sql(scope, decode_id(cases[u]["id"])))
                        else:
                            f.write(stats_sql(scope, STATS_PERIODS[op]))
                for c in concurrencies:
                    server.wait_idle(args)
                    api = with_cpu(
                        server,
                        args,
                        lambda: oha(
                            server,
                            tokens[u],
                            c,
                            args.duration,
                            os.path.join(out_dir, f"oha-{op}-{u}-c{c}.json"),
                            body=body,
                        ),
                    )
                    sql = paced = None
                    if script:
                        sql = sql_load(args, server, script, c, out_dir)
                        if op in PACED_OPS:
                            paced = sql_load(args, server, script, c, out_dir, rate=api["rps"])
                    record(op, u, c, api, sql, paced)

        if "register" in ops:
            for u in USERS:
                own = units[u]
                township = own["id"] if own["kind"] == "TOWNSHIP" else towns[1]["id"]
                for c in concurrencies:
                    server.wait_idle(args)
                    api = with_cpu(
                        server,
                        args,
                        lambda: register_load(
                            server,
                            tokens[u],
                            c,
                            args.duration,
                            f"bench-{stamp}-{u}-c{c}",
                            township,
                        ),
                    )
                    record("register", u, c, api)
        peak, _ = server.memory()
    finally:
        server.stop()

    if not args.sqlite and not args.no_explain and "list" in ops:
        plans = explain_list(args, lambda: Server(args, database_url, server_log), tokens, out_dir)

    # What was measured: the binary's build time and the checkout it most likely came from.
    def git(*cmd):
        try:
            return subprocess.run(
                ["git", "-C", ROOT, *cmd], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    summary = {
        "date": stamp,
        "binary_built": datetime.datetime.fromtimestamp(os.path.getmtime(BINARY)).isoformat(),
        "head": git("rev-parse", "--short", "HEAD"),
        "uncommitted_files": (git("status", "--short") or "").splitlines(),
        "database": "sqlite" if args.sqlite else "postgresql",
        "pg_host": None if args.sqlite else args.pg_host,
        "cases": args.cases,
        "seed_seconds": seed_seconds,
        "duration_s": args.duration,
        "list_query": LIST_QUERY,
        "server_peak_rss_mib": round(peak, 1),
        "results": results,
        "explain_list": plans,
    }
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
    print_table(summary)
    log(f"results in {out_dir}")


def print_table(summary):
    print(
        f"\n{summary['database']}, {summary['cases']} cases"
        + (f", seeded in {summary['seed_seconds']:.1f} s" if summary["seed_seconds"] else "")
        + f", {summary['duration_s']} s per measurement\n"
    )
    print(
        "| op | user | c | API req/s | API p50 ms | API p99 ms | SQL tx/s | SQL p50 ms "
        "| SQL p99 ms | API/SQL | server peak RSS MiB | server CPU ms/req | DB CPU ms/req "
        "| SQL DB CPU ms/tx | SQL DB CPU ms/tx at the API's rate |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in summary["results"]:
        a, s = r["api"], r["sql"]
        sql_cols = (
            f"{s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {a['rps'] / s['rps']:.3f}"
            if s
            else "- | - | - | -"
        )
        print(
            f"| {r['op']} | {r['user']} | {r['concurrency']} | {a['rps']:.1f} | "
            f"{a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {sql_cols} | {r['server_peak_rss_mib']:.0f} | "
            f"{a.get('server_cpu_ms', '-')} | {a.get('db_cpu_ms') or '-'} | "
            f"{(s or {}).get('db_cpu_ms') or '-'} | "
            f"{(r.get('sql_at_api_rate') or {}).get('db_cpu_ms') or '-'} |"
        )


if __name__ == "__main__":
    main()
