"""Load test: N concurrent clients posting questions to /api/chat of a real `lotse serve`.

For each worker count, starts `lotse serve` on a free 127.0.0.1 port (bundled index in data/,
rate limit lifted, question log in a temporary SQLite file or, with --db postgres, in a throw-away
local PostgreSQL server; HF_HUB_OFFLINE=1), waits for
GET /readyz 200 and warms the workers up (one pass over the question set per worker by default,
bounded by --warmup-seconds; not measured, since the first pass fills per-process caches). Then, for each client count, N asyncio clients
(httpx.AsyncClient) post the question set round-robin (German and English alternating,
follow-ups without their conversation) for --seconds; requests still in flight at the end
finish (bounded by --timeout) and are counted.

Reported per (workers, clients): requests, throughput (req/s), p50/p95/p99 latency (ms),
errors (non-200 or exception), refusals share, the server's CPU use (cores, from
/proc/<pid>/stat over the process tree) and its peak RSS (VmHWM summed over the server
process and its children; VmHWM is the peak since start, so later rows include earlier ones).
The CPU use of the load generator itself and of other processes on the machine is reported too,
since all of them share the same cores.

Full run:  .venv/bin/python bench/load.py                      (workers 1 2 × clients 20 50 × 60 s)
Both databases: .venv/bin/python bench/load.py --db sqlite postgres --clients 50
Quick run: .venv/bin/python bench/load.py --seconds 10 --clients 5 --workers 1
Small load: .venv/bin/python bench/load.py --quick              (1 worker, 4 clients, 20 s)
Writes bench/results/load.json (or load-quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from eval.questions import load_questions

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
console = Console(width=None if sys.stdout.isatty() else 170)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def question_texts() -> list[str]:
    """All questions, German and English alternating (the rest of the longer list at the end)."""
    questions = load_questions()
    de = [q.question for q in questions if q.lang == "de"]
    en = [q.question for q in questions if q.lang == "en"]
    out: list[str] = []
    for i in range(max(len(de), len(en))):
        out.extend(x[i] for x in (de, en) if i < len(x))
    return out


# --- the server's process tree, from /proc -----------------------------------------------

def process_tree(root: int) -> list[int]:
    """root and all its descendants (pids), read from /proc/*/stat."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    tree: list[int] = []
    todo = [root]
    while todo and len(tree) < 1000:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def memory(root: int) -> dict[str, Any]:
    pids = process_tree(root)
    hwm = {pid: status_kib(pid, "VmHWM") for pid in pids}
    return {"processes": len(pids), "vmhwm_sum_mib": round(sum(hwm.values()) / 1024, 1),
            "vmhwm_max_mib": round(max(hwm.values(), default=0) / 1024, 1),
            "vmrss_sum_mib": round(sum(status_kib(p, "VmRSS") for p in pids) / 1024, 1)}


# --- the server ----------------------------------------------------------------------------

def start_postgres() -> Any:
    """A throw-away PostgreSQL on 127.0.0.1 (Debian's server binaries, `make postgres`), the same
    helper the database tests use."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pg import PostgresServer, find_bin_dir  # test helper: initdb in a temp dir, free port, trust auth

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not found: make postgres")
    return PostgresServer(bin_dir).start()


class Server:
    """`lotse serve` as a subprocess in its own process group, log in the temp dir."""

    def __init__(self, workers: int, tmp: Path, ready_timeout: float, db_url: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.workers = workers
        self.log_path = tmp / f"serve-{workers}.log"
        env = os.environ | {
            "LOTSE_WEB__RATE_LIMIT_PER_MINUTE": "1000000",
            "LOTSE_DB__URL": db_url or f"sqlite:///{tmp}/load-{workers}.db",
            "HF_HUB_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
        }
        lotse = Path(sys.executable).with_name("lotse")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(lotse), "serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"lotse serve exited with {self.proc.returncode}; log: {self.log_path}\n{self.tail()}")
                try:
                    # /readyz answers from the first worker that is up; wait for every worker's startup too
                    started = self.log_path.read_bytes().count(b"Application startup complete")
                    if client.get(f"{self.base}/readyz").status_code == 200 and started >= self.workers:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"lotse serve not ready after {timeout:.0f} s; log: {self.log_path}\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # our own process group: the server and its workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


# --- the clients ---------------------------------------------------------------------------

@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    statuses: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    answered: int = 0
    next_question: int = 0


async def client_loop(client: httpx.AsyncClient, url: str, texts: list[str], phase: Phase, stop_at: float, max_requests: int) -> None:
    while time.monotonic() < stop_at and sum(phase.statuses.values()) + sum(phase.exceptions.values()) < max_requests:
        question = texts[phase.next_question % len(texts)]
        phase.next_question += 1
        t0 = time.perf_counter()
        try:
            response = await client.post(url, json={"question": question})
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            phase.exceptions[type(exc).__name__] += 1
            await asyncio.sleep(0.05)  # a refused connection must not become a busy loop
            continue
        elapsed = time.perf_counter() - t0
        phase.statuses[str(response.status_code)] += 1
        if response.status_code == 200:
            phase.latencies.append(elapsed)
            try:
                phase.refused += bool(response.json().get("refused"))
                phase.answered += 1
            except ValueError:
                phase.exceptions["InvalidJSON"] += 1


async def run_phase(
    base: str, clients: int, seconds: float, texts: list[str], timeout: float, max_requests: int, offset: int = 0
) -> tuple[Phase, float]:
    phase = Phase(next_question=offset)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.wait_for(
            asyncio.gather(*(client_loop(client, f"{base}/api/chat", texts, phase, stop_at, max_requests) for _ in range(clients))),
            timeout=seconds + timeout + 30,
        )
        return phase, time.monotonic() - started


def summarize(phase: Phase, elapsed: float, cpu: float, mem: dict[str, Any], workers: int, clients: int) -> dict[str, Any]:
    requests = sum(phase.statuses.values()) + sum(phase.exceptions.values())
    ok = phase.statuses.get("200", 0)
    ms = np.asarray(phase.latencies) * 1000 if phase.latencies else np.zeros(1)
    return {
        "workers": workers, "clients": clients, "seconds": round(elapsed, 2),
        "requests": requests, "ok": ok,
        "throughput_rps": round(ok / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1), "max_ms": round(float(ms.max()), 1),
        "errors": requests - ok,
        "error_detail": {**{f"http {k}": v for k, v in phase.statuses.items() if k != "200"}, **dict(phase.exceptions)},
        "refused_share": round(phase.refused / phase.answered, 4) if phase.answered else 0.0,
        "server_cpu_cores": round(cpu / elapsed, 2) if elapsed else 0.0,
        "memory": mem,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Concurrent clients against /api/chat of `lotse serve`.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="uvicorn worker counts (default: 1 2)")
    parser.add_argument("--clients", type=int, nargs="+", default=[20, 50], help="concurrent client counts (default: 20 50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds per (workers, clients) run (default 60, at most 600)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one request may take (default 60)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="cap on requests per run")
    parser.add_argument("--ready-timeout", type=float, default=240.0, help="seconds to wait for /readyz")
    parser.add_argument("--warmup-passes", type=float, default=1.0,
                        help="passes over the question set per worker before measuring (default 1; 0 = one request each)")
    parser.add_argument("--warmup-seconds", type=float, default=150.0, help="at most this long for the warm-up (default 150)")
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite"],
                        help="question-log database(s): sqlite (temp file) and/or postgres (a throw-away local server)")
    parser.add_argument("--quick", action="store_true", help="small load: 1 worker, 4 clients, 20 s (warm-up at most 30 s)")
    args = parser.parse_args()
    if args.quick:
        args.workers, args.clients, args.seconds = [1], [4], 20.0
        args.warmup_seconds = min(args.warmup_seconds, 30.0)
    args.seconds = max(1.0, min(args.seconds, 600.0))
    if any(c < 1 or c > 500 for c in args.clients) or any(w < 1 or w > 16 for w in args.workers):
        raise SystemExit("clients must be 1..500 and workers 1..16")

    texts = question_texts()
    console.print(
        f"{len(texts)} questions, {os.cpu_count()} CPUs; workers {args.workers}, clients {args.clients}, {args.seconds:.0f} s each"
    )
    rows: list[dict[str, Any]] = []
    warmups: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="lotse-load-") as tmpdir:
        tmp = Path(tmpdir)
        for db, workers in [(db, w) for db in args.db for w in args.workers]:
            t0 = time.monotonic()
            postgres = start_postgres() if db == "postgres" else None
            db_url = postgres.url_for(postgres.create_database(f"load{workers}")) if postgres else None
            server = Server(workers, tmp, args.ready_timeout, db_url)
            try:
                console.print(f"[dim]workers={workers}: ready after {time.monotonic() - t0:.1f} s on port {server.port}[/dim]")
                # warm-up, not measured: each worker keeps per-process caches (sentence embeddings of the
                # passages), so a first pass over the question set is much slower than later ones
                warm, warm_elapsed = asyncio.run(run_phase(server.base, 2 * workers, args.warmup_seconds, texts, args.timeout,
                                                           max(1, round(args.warmup_passes * len(texts) * workers))))
                warmups[workers] = {"requests": sum(warm.statuses.values()) + sum(warm.exceptions.values()),
                                    "seconds": round(warm_elapsed, 1), "clients": 2 * workers,
                                    "throughput_rps": round(warm.statuses.get("200", 0) / warm_elapsed, 2) if warm_elapsed else 0.0}
                console.print(f"[dim]workers={workers}: warm-up {warmups[workers]['requests']} requests in "
                              f"{warm_elapsed:.0f} s ({warmups[workers]['throughput_rps']} req/s, cold caches)[/dim]")
                for clients in args.clients:
                    pids = process_tree(server.proc.pid)
                    cpu0, busy0, own0 = cpu_seconds(pids), machine_busy_seconds(), own_cpu_seconds()
                    phase, elapsed = asyncio.run(
                        run_phase(server.base, clients, args.seconds, texts, args.timeout, args.max_requests, offset=len(rows) * 7)
                    )
                    cpu = cpu_seconds(process_tree(server.proc.pid)) - cpu0
                    own = own_cpu_seconds() - own0
                    foreign = machine_busy_seconds() - busy0 - cpu - own
                    if server.proc.poll() is not None:
                        console.print(f"[red]server exited with {server.proc.returncode}[/red]\n{server.tail()}")
                    row = summarize(phase, elapsed, cpu, memory(server.proc.pid), workers, clients) | {"db": db}
                    row["client_cpu_cores"] = round(own / elapsed, 2)
                    row["other_cpu_cores"] = round(max(0.0, foreign) / elapsed, 2)  # other processes on the machine
                    row["load_average_after"] = round(os.getloadavg()[0], 2)
                    rows.append(row)
                    console.print(f"[dim]workers={workers} clients={clients}: {row['requests']} requests, "
                                  f"{row['throughput_rps']} req/s, p50 {row['p50_ms']} ms, errors {row['errors']}[/dim]")
            finally:
                server.stop()
                if postgres is not None:
                    postgres.stop()

    title = "Small load on /api/chat" if args.quick else "Load on /api/chat (latency in ms)"
    table = Table("db", "workers", "clients", "requests", "req/s", "p50", "p95", "p99", "errors", "refused",
                  "CPU cores server/client/other",
                  "peak RSS MiB (sum VmHWM)", title=title)
    for r in rows:
        table.add_row(r["db"], str(r["workers"]), str(r["clients"]), str(r["requests"]), f"{r['throughput_rps']:.2f}",
                      f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}", f"{r['p99_ms']:.0f}",
                      f"{r['errors']}" + (f" {r['error_detail']}" if r["errors"] else ""),
                      f"{r['refused_share']:.1%}",
                      f"{r['server_cpu_cores']:.2f}/{r['client_cpu_cores']:.2f}/{r['other_cpu_cores']:.2f} of {os.cpu_count()}",
                      f"{r['memory']['vmhwm_sum_mib']:.0f} ({r['memory']['processes']} proc)")
    console.print(table)
    if args.quick and rows:
        console.print(f"/api/chat under small load (1 worker, 4 clients): p50 {rows[0]['p50_ms']:.0f} ms, p95 {rows[0]['p95_ms']:.0f} ms")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "load-quick.json" if args.quick else "load.json"
    (out / name).write_text(json.dumps({"cpus": os.cpu_count(), "seconds": args.seconds, "questions": len(texts),
                                          "warmup": warmups, "runs": rows}, indent=2))
    console.print(f"wrote bench/results/{name}")


if __name__ == "__main__":
    main()
