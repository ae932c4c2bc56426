"""The serving benchmark: `mlctl serve` against the seeds' Flask + gunicorn app and a FastAPI + uvicorn app.

Sets up a fresh mlctl project in bench/work/serve (the sample data, `mlctl train --model skill_assignment` with
the reference spec of mlctl.toml, promoted to production) and fits and pickles the scikit-learn pipeline on the
same CSV (train_sklearn.py). Then, --runs times, starts each server in turn on 127.0.0.1, waits until it is
ready (every worker, for the Python apps), checks that it answers the contract, warms it up, and measures:

  single   one JSON record per request, wrk (closed loop) at concurrency 1, 8 and 64 → requests/s
  rate     one JSON record per request, openloop.py at a constant --rate (default 1,000/s) → latency p50/p99
  batch    the 10,000-row CSV (the sample data less its label) per request, wrk at --batch-concurrency → rows/s
  memory   VmRSS summed over the server's processes (gunicorn/uvicorn: the master and its workers), after the
           cells above, and right after the warm-up

then stops it (SIGTERM). The servers take turns within a run, in an order that rotates from run to run, so that
a slow minute on this machine falls on all of them rather than on one. Figures are medians over the runs.
openloop.py's own floor is measured once per run against a trivial server and reported beside them.

Every server and the load generators are pinned with taskset (--server-cpus, --client-cpus; both default to
every CPU, so that on the 2-core machine they share both cores, the same way for every server).

Writes RESULTS.md and RESULTS.json (--out). Usage (bench/serve.sh does the setup and passes its arguments on):

  run.py --mlctl target/release/mlctl [--duration 10] [--runs 3] [--quick] [--servers mlctl,flask,fastapi]
"""

import argparse
import csv
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
# The machine facts and load average are the training benchmark's own (bench/bench.py), written the same way.
sys.path.insert(0, str(BENCH))
from bench import load as loadavg, machine  # noqa: E402
REPO = BENCH.parent
TARGET = "success"
MODEL = "skill_assignment"
CONCURRENCY = [1, 8, 64]
SERVERS = ["mlctl", "flask", "fastapi"]
TITLES = {
    "mlctl": "mlctl serve",
    "flask": "Flask + gunicorn (2 sync workers)",
    "fastapi": "FastAPI + uvicorn (2 workers)",
}


def log(msg):
    print(f"[serve-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_list(spec):
    return spec if spec != "all" else f"0-{os.cpu_count() - 1}"


def python_env():
    # scikit-learn runs with its own defaults, as in `make bench` (bench/README.md). No __pycache__ in the tree.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(method, port, path, body=None, content_type=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------- setup


def setup(args, work):
    """The mlctl project, the pickled scikit-learn pipeline and the request bodies. Returns the paths."""
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "data").mkdir(parents=True)
    shutil.copy(REPO / "mlctl.toml", project / "mlctl.toml")
    data = project / "data" / "skill_assignment.csv"
    mlctl = args.mlctl
    if mlctl:
        log("mlctl export --sample skill-assignment --rows 10000 --seed 42")
        subprocess.run(
            [mlctl, "-q", "export", "--sample", "skill-assignment", "--rows", "10000", "--seed", "42", "-o", str(data)],
            check=True,
        )
        log("mlctl train --model skill_assignment (the reference spec of mlctl.toml)")
        out = subprocess.run(
            [mlctl, "--project", str(project), "-q", "--json", "train", "--model", MODEL],
            check=True, capture_output=True, text=True,
        ).stdout
        report = json.loads(out) if out.strip() else {}
        version = report.get("version", "1.0.0")
        subprocess.run(
            [mlctl, "--project", str(project), "-q", "promote", f"{MODEL}@{version}", "--to", "production"],
            check=True,
        )
        mlctl_train = {"version": version, "roc_auc": (report.get("metrics") or {}).get("roc_auc")}
    else:
        # No mlctl in this run: the same data as `mlctl export` writes, shipped in the repository.
        shutil.copy(REPO / "data" / "skill_assignment.csv", data)
        mlctl_train = None

    log("train_sklearn.py: the pipeline the Flask and FastAPI apps serve")
    out = subprocess.run(
        [args.python, str(HERE / "train_sklearn.py"), str(data), str(work / "sklearn.pkl"),
         "--n-jobs", str(args.sklearn_n_jobs)],
        check=True, capture_output=True, text=True, env=python_env(),
    ).stdout
    sk_train = json.loads(out)

    # Request bodies: complete rows of the data as JSON records (label dropped, numbers typed as in the CSV), and
    # the whole file less its label column, missing cells and all, as the CSV batch.
    with open(data, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    features = [c for c in header if c != TARGET]
    keep = [header.index(c) for c in features]
    categorical = set(sk_train["categorical"])

    def typed(name, text):
        if name in categorical:
            return text
        number = float(text)
        return int(number) if re.fullmatch(r"-?\d+", text) else number

    records = work / "records.jsonl"
    with open(records, "w") as f:
        n = 0
        for row in body:
            if all(row[i] != "" for i in keep):
                f.write(json.dumps({header[i]: typed(header[i], row[i]) for i in keep}, separators=(",", ":")))
                f.write("\n")
                n += 1
                if n == 1000:
                    break
    batch = work / "batch.csv"
    with open(batch, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(features)
        for row in body:
            w.writerow([row[i] for i in keep])
    return {
        "project": project,
        "data": data,
        "sklearn_model": work / "sklearn.pkl",
        "records": records,
        "batch": batch,
        "batch_rows": len(body),
        "mlctl_train": mlctl_train,
        "sklearn_train": sk_train,
    }


# -------------------------------------------------------------------------------------------------- servers


class Server:
    """One server process (group) started pinned, with its log, port, paths and readiness check."""

    def __init__(self, name, args, files, work, run):
        self.name = name
        self.log_path = work / "logs" / f"{name}-run{run}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        bindir = Path(args.python).parent
        env = python_env()
        if name == "mlctl":
            self.port = None  # --port 0: mlctl says which port it bound
            cmd = [args.mlctl, "--project", str(files["project"]), "serve", MODEL, "--port", "0", "--no-log"]
            self.single_path = self.batch_path = f"/v1/models/{MODEL}/predict"
            self.workers = 1
        elif name == "flask":
            self.port = free_port()
            env["MODEL_PATH"] = str(files["sklearn_model"])
            cmd = [str(bindir / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
                   "--chdir", str(HERE), "flask_app:app"]
            self.single_path = self.batch_path = "/api/predict-assignment"
            self.workers = 2
        elif name == "fastapi":
            self.port = free_port()
            env["MODEL_PATH"] = str(files["sklearn_model"])
            # No access log: gunicorn writes none by default and mlctl runs with --no-log.
            cmd = [str(bindir / "uvicorn"), "--app-dir", str(HERE), "fastapi_app:app", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "2", "--no-access-log", "--log-level", "warning"]
            self.single_path, self.batch_path = "/predict", "/predict/batch"
            self.workers = 2
        elif name == "trivial":
            self.port = free_port()
            cmd = [args.python, str(HERE / "openloop.py"), "--serve-trivial", str(self.port)]
            self.single_path = self.batch_path = "/"
            self.workers = 1
        else:
            raise ValueError(name)
        self.cmd = ["taskset", "-c", cpu_list(args.server_cpus), *cmd]
        self.env = env
        self.proc = None

    def start(self, timeout=120):
        log(f"starting {self.name}: {' '.join(self.cmd[3:])}")
        self.logf = open(self.log_path, "wb")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd, stdout=self.logf, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            if self.port is None:
                m = re.search(r"listening on http://\S+:(\d+)", self.log_path.read_text(errors="replace"))
                if m:
                    self.port = int(m.group(1))
            if self.port is not None and self.ready():
                self.startup_seconds = time.monotonic() - started
                log(f"{self.name} ready on port {self.port} after {self.startup_seconds:.1f} s")
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def ready(self):
        try:
            if self.name == "mlctl":
                return http_call("GET", self.port, "/health/ready", timeout=2)[0] == 200
            if self.name == "trivial":
                return http_call("POST", self.port, "/", b"{}", "application/json", timeout=2)[0] == 200
            # Every worker must have loaded the model: /health answers with its pid. New connections, so the
            # kernel hands them to whichever worker accepts; poll until each has answered.
            seen = set()
            for _ in range(50):
                status, body = http_call("GET", self.port, "/health", timeout=2)
                if status != 200:
                    return False
                seen.add(json.loads(body)["pid"])
                if len(seen) >= self.workers:
                    return True
            return False
        except (OSError, ValueError, http.client.HTTPException):
            return False

    def log_tail(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def pids(self):
        """The server's process and all its descendants."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    todo += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    pass
        return out

    def memory(self):
        """VmRSS, VmHWM (peak) and Pss summed over the processes, in MiB, and each process's VmRSS."""
        rss = hwm = pss = 0
        per = []
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                kib = {k: int(v.split()[0]) for k, v in
                       (line.split(":", 1) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM")))}
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                m = re.search(r"^Pss:\s+(\d+)", rollup, re.M)
            except OSError:
                continue
            rss += kib.get("VmRSS", 0)
            hwm += kib.get("VmHWM", 0)
            pss += int(m.group(1)) if m else 0
            per.append(round(kib.get("VmRSS", 0) / 1024, 1))
        return {"rss_mib": rss / 1024, "hwm_mib": hwm / 1024, "pss_mib": pss / 1024, "processes": len(per),
                "rss_each_mib": per}

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop on SIGTERM in 20 s: SIGKILL to its process group")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()
        self.proc = None


def check_contract(server, files):
    """One record and one batch: 200, and an answer of the expected shape (every batch row predicted)."""
    with open(files["records"], "rb") as f:
        record = f.readline().strip()
    status, body = http_call("POST", server.port, server.single_path, record, "application/json")
    if status != 200:
        raise RuntimeError(f"{server.name}: one record → {status}: {body[:500]!r}")
    answer = json.loads(body)
    first = answer["predictions"][0] if "predictions" in answer else answer
    if "prediction" not in first or "probability" not in first:
        raise RuntimeError(f"{server.name}: one record → unexpected answer {body[:500]!r}")
    csv_body = files["batch"].read_bytes()
    status, body = http_call("POST", server.port, server.batch_path, csv_body, "text/csv", timeout=120)
    if status != 200:
        raise RuntimeError(f"{server.name}: CSV batch → {status}: {body[:500]!r}")
    n = len(json.loads(body)["predictions"])
    if n != files["batch_rows"]:
        raise RuntimeError(f"{server.name}: CSV batch of {files['batch_rows']} rows → {n} predictions")
    return first


# ------------------------------------------------------------------------------------------------------ load


def wrk(args, port, path, concurrency, seconds, bodies, mode, content_type, timeout="10s"):
    threads = max(1, min(concurrency, args.wrk_threads))
    env = dict(os.environ, BODIES=str(bodies), BODY_MODE=mode, CONTENT_TYPE=content_type)
    cmd = ["taskset", "-c", cpu_list(args.client_cpus), "wrk", f"-t{threads}", f"-c{concurrency}",
           f"-d{seconds}s", "--timeout", timeout, "-s", str(HERE / "post.lua"), f"http://127.0.0.1:{port}{path}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-2000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("{")][-1]
    r = json.loads(line)
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["error_count"] = sum(r["errors"].values())
    return r


def openloop(args, port, path, bodies, seconds, warmup):
    cmd = ["taskset", "-c", cpu_list(args.client_cpus), args.python, str(HERE / "openloop.py"),
           f"http://127.0.0.1:{port}{path}", "--rate", str(args.rate), "--duration", str(seconds),
           "--warmup", str(warmup), "--connections", str(args.openloop_connections), "--bodies", str(bodies)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openloop.py failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(args, server, files):
    d = args.duration
    result = {}
    check_contract(server, files)
    # Warm-up: every worker has answered /health; now make them all run the model for a while.
    wrk(args, server.port, server.single_path, 8, args.warmup, files["records"], "lines", "application/json")
    result["rss_after_warmup"] = server.memory()
    for c in CONCURRENCY:
        r = wrk(args, server.port, server.single_path, c, d, files["records"], "lines", "application/json")
        log(f"  {server.name} single c={c}: {r['rps']:,.0f} req/s, p99 {r['latency_us']['p99'] / 1000:.2f} ms, "
            f"{r['error_count']} errors")
        result[f"single_c{c}"] = r
        time.sleep(1)
    r = openloop(args, server.port, server.single_path, files["records"], d, args.warmup)
    lat = r["latency_us"] or {}
    log(f"  {server.name} {args.rate:g}/s open loop: {r['achieved_rps']:,.0f} req/s done, "
        f"p50 {lat.get('p50', float('nan')) / 1000:.2f} ms, p99 {lat.get('p99', float('nan')) / 1000:.2f} ms, "
        f"{'sustained' if r['sustained'] else 'NOT sustained'}")
    result["rate"] = r
    time.sleep(1)
    r = wrk(args, server.port, server.batch_path, args.batch_concurrency, d, files["batch"], "whole", "text/csv",
            timeout="60s")
    r["rows_per_s"] = r["rps"] * files["batch_rows"]
    log(f"  {server.name} batch c={args.batch_concurrency}: {r['rows_per_s']:,.0f} rows/s "
        f"({r['requests']} requests), {r['error_count']} errors")
    result["batch"] = r
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} exited during the run ({server.proc.returncode}):\n{server.log_tail()}")
    result["rss_after_run"] = server.memory()
    log(f"  {server.name} RSS {result['rss_after_run']['rss_mib']:.1f} MiB "
        f"({result['rss_after_run']['processes']} processes)")
    return result


def calibrate(args, files, work, run):
    """openloop.py against a trivial server at the same rate: the client's own floor on this machine."""
    server = Server("trivial", args, files, work, run)
    try:
        server.start()
        return openloop(args, server.port, "/", files["records"], args.duration, args.warmup)
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------------- report


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs, servers):
    s = {}
    for name in servers:
        rs = [r[name] for r in runs if name in r]
        if not rs:
            continue
        out = {"runs": len(rs)}
        for c in CONCURRENCY:
            out[f"single_c{c}_rps"] = med([r[f"single_c{c}"]["rps"] for r in rs])
            out[f"single_c{c}_p99_ms"] = med([r[f"single_c{c}"]["latency_us"]["p99"] / 1000 for r in rs])
            out[f"single_c{c}_errors"] = sum(r[f"single_c{c}"]["error_count"] for r in rs)
        # Latency at the fixed rate: over the runs that have any (a server far below the rate answers none of
        # the measured window's requests); it means something only where every run kept up with the rate.
        lat = [r["rate"]["latency_us"] or {} for r in rs]
        out["rate_achieved_rps"] = med([r["rate"]["achieved_rps"] for r in rs])
        for key in ("p50", "p99", "p99_9"):
            out[f"rate_{key}_ms"] = med([x[key] / 1000 if x else None for x in lat])
        out["rate_sustained_runs"] = sum(1 for r in rs if r["rate"]["sustained"])
        out["batch_rows_per_s"] = med([r["batch"]["rows_per_s"] for r in rs])
        out["batch_p50_ms"] = med([r["batch"]["latency_us"]["p50"] / 1000 for r in rs])
        out["batch_errors"] = sum(r["batch"]["error_count"] for r in rs)
        out["rss_mib"] = med([r["rss_after_run"]["rss_mib"] for r in rs])
        out["pss_mib"] = med([r["rss_after_run"]["pss_mib"] for r in rs])
        out["peak_rss_mib"] = med([r["rss_after_run"]["hwm_mib"] for r in rs])
        out["rss_after_warmup_mib"] = med([r["rss_after_warmup"]["rss_mib"] for r in rs])
        out["processes"] = rs[0]["rss_after_run"]["processes"]
        out["startup_s"] = med([r["startup_s"] for r in rs])
        s[name] = out
    return s


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, spec, none="–"):
    return none if x is None else format(x, spec)


def versions(args):
    code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "['flask', 'gunicorn', 'fastapi', 'uvicorn', 'scikit-learn', 'pandas', 'numpy']}))")
    v = json.loads(subprocess.run([args.python, "-c", code], capture_output=True, text=True, check=True).stdout)
    wrk_v = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    v["wrk"] = wrk_v.replace("wrk ", "")
    if args.mlctl:
        v["mlctl"] = subprocess.run([args.mlctl, "--version"], capture_output=True, text=True).stdout.strip()
    return v




def targets(s, args, batch_rows):
    m, f = s.get("mlctl"), s.get("flask")
    rows = []
    r8 = ratio(m and m["single_c8_rps"], f and f["single_c8_rps"])
    rows.append(("single-record throughput at c=8, mlctl / Flask", "≥ 20×", fmt(r8, ".1f", "not measured") +
                 ("×" if r8 is not None else ""), None if r8 is None else r8 >= 20))
    if m:
        p99, ok_runs = m["rate_p99_ms"], m["rate_sustained_runs"]
        met = p99 is not None and p99 < 2 and ok_runs == m["runs"]
        rows.append((f"p99 latency at {args.rate:,.0f} req/s (open loop)", "< 2 ms",
                     f"{fmt(p99, '.2f')} ms (sustained in {ok_runs}/{m['runs']} runs)", met))
        rows.append((f"batch throughput, {batch_rows:,}-row CSV per request", "≥ 500,000 rows/s",
                     f"{fmt(m['batch_rows_per_s'], ',.0f')} rows/s", m["batch_rows_per_s"] >= 500_000))
        rows.append(("server RSS after the run, sample model", "< 60 MiB", f"{m['rss_mib']:.1f} MiB",
                     m["rss_mib"] < 60))
    else:
        for what, target in [(f"p99 latency at {args.rate:,.0f} req/s (open loop)", "< 2 ms"),
                             ("batch throughput, 10,000-row CSV per request", "≥ 500,000 rows/s"),
                             ("server RSS after the run, sample model", "< 60 MiB")]:
            rows.append((what, target, "not measured (mlctl not in this run)", None))
    return rows


def render(res, args):
    s, m, files = res["summary"], res["machine"], res["setup"]
    v = res["versions"]
    names = [n for n in SERVERS if n in s]
    lines = [
        "# Serving benchmark: `mlctl serve` against Flask + gunicorn and FastAPI + uvicorn",
        "",
        f"Generated by `{res['command']}` at commit `{res['commit']}`, "
        f"{res['started']} – {res['finished']} UTC ({res['elapsed_min']:.1f} min).",
        "",
        f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['memory_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}. Load average (1, 5, 15 min) before: {', '.join(res['load_before'])}; "
        f"after: {', '.join(res['load_after'])}.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        f"**Pinning.** Every server is started under `taskset -c {cpu_list(args.server_cpus)}` and the load "
        f"generators (wrk, openloop.py) under `taskset -c {cpu_list(args.client_cpus)}`"
        + (": on this machine they **share the same cores**, so the load generator's own CPU time comes out of "
           "the server's, and the more requests a server answers the more the client takes from it."
           if cpu_list(args.server_cpus) == cpu_list(args.client_cpus) else ".")
        + " The same for every server.",
        "",
        f"**Method.** Medians of {args.runs} run(s); in each run every server is started afresh, checked, warmed "
        f"up ({args.warmup:g} s), measured and stopped, taking turns in an order that rotates from run to run. "
        f"Each cell lasts {args.duration:g} s. Model: the sample data ({files['batch_rows']:,} rows, "
        "`mlctl export --sample skill-assignment --rows 10000 --seed 42`); mlctl serves "
        "`mlctl train --model skill_assignment` (mlctl.toml's reference random forest, promoted to production), "
        "the Python apps a pickled scikit-learn pipeline with the same parameters fitted on the same file "
        f"(train_sklearn.py; the pickled forest has `n_jobs={args.sklearn_n_jobs}`"
        + (", the seeds' setting" if args.sklearn_n_jobs == -1 else
           ", faster per request than the seeds' n_jobs=-1, so the Python apps are measured at their faster setting")
        + "). "
        "Single-record cells: one JSON record per request, cycling through 1,000 complete rows of the data; "
        "closed loop with wrk (threads = min(connections, "
        f"{args.wrk_threads})). Fixed-rate cell: openloop.py, {args.rate:,.0f} requests/s on "
        f"{args.openloop_connections} keep-alive connections, latency from each request's scheduled send time "
        f"(no coordinated omission). Batch: the whole file less its label, {files['batch_rows']:,} rows of CSV "
        f"per request, wrk at concurrency {args.batch_concurrency}. RSS: VmRSS summed over the server's "
        "processes after the last cell. bench/README.md (\"Serving benchmark\") has the details.",
        "",
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for what, goal, got, met in targets(s, args, files["batch_rows"]):
        lines.append(f"| {what} | {goal} | {got} | {'–' if met is None else ('yes' if met else '**no**')} |")
    lines += [
        "",
        "## Results (medians)",
        "",
        "| server | single c=1 req/s | c=8 req/s | c=64 req/s | "
        f"{args.rate:,.0f}/s: done req/s | p50 ms | p99 ms | p99.9 ms | batch rows/s | RSS MiB | PSS MiB | processes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        x = s[n]
        kept_up = x["rate_sustained_runs"] == x["runs"]
        sustained = "" if kept_up else f" (not sustained in {x['runs'] - x['rate_sustained_runs']}/{x['runs']})"
        # Below the rate, the latency only says how long the run was: not shown (the runs below have it).
        shown = {k: fmt(x[f"rate_{k}_ms"], ",.2f") if kept_up else "–" for k in ("p50", "p99", "p99_9")}
        lines.append(
            f"| {TITLES[n]} | {x['single_c1_rps']:,.0f} | {x['single_c8_rps']:,.0f} | {x['single_c64_rps']:,.0f} | "
            f"{x['rate_achieved_rps']:,.0f}{sustained} | {shown['p50']} | {shown['p99']} | {shown['p99_9']} | "
            f"{x['batch_rows_per_s']:,.0f} | {x['rss_mib']:.1f} | {x['pss_mib']:.1f} | {x['processes']} |"
        )
    if "mlctl" in s:
        lines += [
            "",
            "Ratios (mlctl / other for throughput, other / mlctl for latency and memory: > 1× means mlctl is "
            "better):",
            "",
            "| against | c=1 | c=8 | c=64 | p99 at the fixed rate | batch rows/s | RSS |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        a = s["mlctl"]
        for n in names:
            if n == "mlctl":
                continue
            b = s[n]
            cells = [ratio(a[f"single_c{c}_rps"], b[f"single_c{c}_rps"]) for c in CONCURRENCY]
            both_kept_up = a["rate_sustained_runs"] == a["runs"] and b["rate_sustained_runs"] == b["runs"]
            p99_ratio = ratio(b["rate_p99_ms"], a["rate_p99_ms"]) if both_kept_up else None
            cells += [p99_ratio, ratio(a["batch_rows_per_s"], b["batch_rows_per_s"]),
                      ratio(b["rss_mib"], a["rss_mib"])]
            shown = [fmt(c, ",.1f") + ("×" if c is not None else "") for c in cells]
            lines.append(f"| {TITLES[n]} | " + " | ".join(shown) + " |")
        lines += ["", "(No p99 ratio where a server could not sustain the rate: its p99 then only grows with the "
                      "length of the run.)"]
    cal = [r["calibration"] for r in res["runs"] if r.get("calibration")]
    if cal:
        p50 = med([c["latency_us"]["p50"] / 1000 for c in cal])
        p99 = med([c["latency_us"]["p99"] / 1000 for c in cal])
        lag = med([c["send_lag_us"]["p99"] / 1000 for c in cal])
        cpu = med([c["client_cpu_s"] / (args.duration + args.warmup) for c in cal])
        lines += [
            "",
            f"**The fixed-rate client's own floor.** openloop.py against a trivial server (a fixed 200 from an "
            f"asyncio protocol, pinned like the servers) at {args.rate:,.0f}/s: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"(median of {len(cal)}); p99 of its own send lag (timer and thread wake-up) {lag:.2f} ms; it used "
            f"{cpu * 100:.0f} % of one core. A server's p99 above cannot be told apart from the client's below "
            "about this floor.",
        ]
    lines += ["", "## Latency under closed-loop load (wrk p99, ms; medians)", "",
              "| server | c=1 | c=8 | c=64 | batch p50 | startup s |", "|---|---:|---:|---:|---:|---:|"]
    for n in names:
        x = s[n]
        lines.append(f"| {TITLES[n]} | {x['single_c1_p99_ms']:.2f} | {x['single_c8_p99_ms']:.2f} | "
                     f"{x['single_c64_p99_ms']:.2f} | {x['batch_p50_ms']:.1f} | {x['startup_s']:.1f} |")
    errors = [(n, k, s[n][k]) for n in names for k in s[n] if k.endswith("_errors") and s[n][k]]
    if errors:
        lines += ["", "Errors counted by wrk (connect/read/write/status ≥ 400/timeout), summed over the runs: " +
                  "; ".join(f"{TITLES[n]} {k.removesuffix('_errors')}: {e}" for n, k, e in errors) + "."]
    lines += ["", "Every run (single req/s at c=1/8/64; fixed-rate p99 ms; batch rows/s; RSS MiB):", ""]
    for i, run in enumerate(res["runs"], 1):
        for n in names:
            if n not in run:
                continue
            r = run[n]
            p99 = (r["rate"]["latency_us"] or {}).get("p99")
            short = "" if r["rate"]["sustained"] else f" (not sustained: {r['rate']['achieved_rps']:,.0f} req/s done)"
            lines.append(
                f"- run {i}, {n}: {r['single_c1']['rps']:,.0f} / {r['single_c8']['rps']:,.0f} / "
                f"{r['single_c64']['rps']:,.0f}; {fmt(p99 and p99 / 1000, ',.2f')}"
                f"{short}; "
                f"{r['batch']['rows_per_s']:,.0f}; {r['rss_after_run']['rss_mib']:.1f} "
                f"({' + '.join(str(x) for x in r['rss_after_run']['rss_each_mib'])})"
            )
    lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlctl", help="the mlctl release binary (with `serve`)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per cell (default 10)")
    ap.add_argument("--runs", type=int, default=3, help="runs per server; figures are medians (default 3)")
    ap.add_argument("--quick", action="store_true", help="a quick look: 1 run of 3 s cells, 1 s warm-up")
    ap.add_argument("--servers", default=",".join(SERVERS), help="which servers (default mlctl,flask,fastapi)")
    ap.add_argument("--rate", type=float, default=1000, help="the fixed-rate cell's requests/s (default 1000)")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds before measuring (default 2)")
    ap.add_argument("--batch-concurrency", type=int, default=2, help="connections for the CSV batch (default 2)")
    ap.add_argument("--openloop-connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=os.cpu_count())
    ap.add_argument("--server-cpus", default="all", help="taskset CPU list for the servers (default all)")
    ap.add_argument("--client-cpus", default="all", help="taskset CPU list for wrk / openloop.py (default all)")
    ap.add_argument("--sklearn-n-jobs", type=int, default=1,
                    help="n_jobs of the pickled forest (default 1, the faster for serving; the seeds': -1)")
    ap.add_argument("--no-calibration", action="store_true", help="skip openloop.py's floor measurement")
    ap.add_argument("--python", default=sys.executable, help="the venv's python (its bin/ has gunicorn, uvicorn)")
    ap.add_argument("--work", default=str(BENCH / "work" / "serve"))
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"), help="RESULTS.md path; RESULTS.json goes beside")
    ap.add_argument("--render", metavar="RESULTS.json", help="only rewrite RESULTS.md from a RESULTS.json")
    args = ap.parse_args()
    if args.render:
        res = json.loads(Path(args.render).read_text())
        report = render(res, argparse.Namespace(**res["options"]))
        Path(args.render).with_suffix(".md").write_text(report)
        print(report)
        return
    if args.quick:
        args.duration, args.runs, args.warmup = 3, 1, 1
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(servers) - set(SERVERS)
    if unknown:
        ap.error(f"unknown server(s): {', '.join(sorted(unknown))}")
    if "mlctl" in servers and not args.mlctl:
        ap.error("--mlctl PATH is needed (or leave mlctl out of --servers)")
    if args.mlctl:
        args.mlctl = str(Path(args.mlctl).resolve())
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("wrk and taskset are needed (bench/serve.sh installs wrk)")

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    load_before = loadavg()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    files = setup(args, work)

    runs = []
    for run in range(1, args.runs + 1):
        per = {}
        if not args.no_calibration:
            log(f"run {run}/{args.runs}: openloop.py floor against a trivial server")
            per["calibration"] = calibrate(args, files, work, run)
        # Rotate the order, so no server always goes first (or always follows a particular one).
        k = (run - 1) % len(servers)
        for name in servers[k:] + servers[:k]:
            log(f"run {run}/{args.runs}: {name}")
            server = Server(name, args, files, work, run)
            try:
                server.start()
                r = measure(args, server, files)
                r["startup_s"] = server.startup_seconds
                per[name] = r
            finally:
                server.stop()
        runs.append(per)

    finished = datetime.datetime.now(datetime.timezone.utc)
    command = os.environ.get("SERVE_BENCH_COMMAND") or " ".join(
        [f"{Path(sys.executable).name}", str(Path(sys.argv[0]).resolve().relative_to(REPO)), *sys.argv[1:]]
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    res = {
        "command": command,
        "commit": commit.stdout.strip(),
        "started": f"{started:%Y-%m-%d %H:%M}",
        "finished": f"{finished:%H:%M}",
        "elapsed_min": (time.monotonic() - t0) / 60,
        "load_before": load_before,
        "load_after": loadavg(),
        "machine": machine(),
        "versions": versions(args),
        "options": {k: v for k, v in vars(args).items() if k not in ("python", "work", "out")},
        "setup": {"batch_rows": files["batch_rows"], "mlctl_train": files["mlctl_train"],
                  "sklearn_train": {k: files["sklearn_train"][k] for k in ("train_rows", "roc_auc", "n_jobs")}},
        "summary": summarise(runs, servers),
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    report = render(res, args)
    out.write_text(report)
    print(report)
    log(f"wrote {out} and {out.with_suffix('.json')} in {res['elapsed_min']:.1f} min")


if __name__ == "__main__":
    main()
