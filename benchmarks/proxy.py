"""``depvet proxy`` under load on loopback: simple-page throughput and latency, memory, and the time
from the first request of an unseen large wheel to its verdict.

The upstream is a static index the script writes into a scratch directory (PEP 691 JSON with
upload times, PEP 503 HTML otherwise) served by ``http.server`` on 127.0.0.1; every package is
inert data built here (benign functions; the large wheel is the standard library's own source
read as text). Nothing is installed, imported or run. The proxy is the real command
(``proxy_cli.run``) in a child process, so its memory can be read from ``/proc``.

1. ``--requests`` project-page requests (JSON, as pip asks), ``--concurrency`` at a time, over
   ``--projects`` projects: against the upstream alone, then through the proxy (after one
   warm-up request per project, which scans each project's newest release).
2. An unseen wheel of about ``--big-mb`` MB: the first request of its file URL (download from
   the upstream, hash, scan in a worker, answer), a second request (verdict and file cached), and
   the scan alone in this process for comparison.

The load generator runs on the same machine (two cores here): the figures are the proxy's and the
client's together, and the upstream-alone row has the same client cost.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import provenance, quantile, scratch_dir, table
from demo.builders import write_sdist, write_wheel

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
BIG = "bigpkg"


# ---------------------------------------------------------------- the upstream


class _Handler(SimpleHTTPRequestHandler):
    """Static files; a project page as ``index.json`` when the client asks for PEP 691 JSON."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real index (and the proxy) offer
    pages_served = 0  # project pages, counted to show how many requests reached the upstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        if self.path.startswith("/simple/"):
            _Handler.pages_served += 1
        if self.path.startswith("/simple/") and JSON_TYPE in (self.headers.get("Accept") or ""):
            page = Path(self.translate_path(self.path)) / "index.json"
            if page.is_file():
                body = page.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", JSON_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                import io

                return io.BytesIO(body)
        return super().send_head()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


@contextmanager
def serve_upstream(root: Path) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def publish(root: Path, project: str, files: list[Path], uploaded: datetime) -> None:
    (root / "files").mkdir(parents=True, exist_ok=True)
    entries = []
    for path in files:
        target = root / "files" / path.name
        path.replace(target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        entries.append((target.name, digest, target.stat().st_size))
    page = root / "simple" / project
    page.mkdir(parents=True, exist_ok=True)
    anchors = "".join(
        f'<a href="../../files/{html.escape(n)}#sha256={d}">{html.escape(n)}</a><br>\n' for n, d, _ in entries
    )
    (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{anchors}</body></html>\n")
    document = {
        "meta": {"api-version": "1.1"},
        "name": project,
        "files": [
            {
                "filename": n,
                "url": f"../../files/{n}",
                "hashes": {"sha256": d},
                "size": s,
                "upload-time": uploaded.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            for n, d, s in entries
        ],
    }
    (page / "index.json").write_text(json.dumps(document))


def module_text(project: str, index: int) -> str:
    """Ordinary library code: a dataclass, parsing, a little I/O."""
    return (
        "from __future__ import annotations\n\nimport json\nfrom dataclasses import dataclass\n"
        "from pathlib import Path\n\n\n@dataclass(frozen=True)\nclass Record:\n    name: str\n"
        "    value: int\n\n\n"
        f"def load_{index}(path: Path) -> list[Record]:\n"
        '    data = json.loads(path.read_text(encoding="utf-8"))\n'
        '    return [Record(item["name"], int(item["value"])) for item in data]\n\n\n'
        f"def total_{index}(records: list[Record]) -> int:\n    return sum(r.value for r in records)\n"
        f'\n\nNAME = "{project}"\n'
    )


def build_index(root: Path, projects: int, big_mb: float) -> tuple[str, int]:
    """Write the upstream; (the big wheel's file name, its size)."""
    build = root / "build"
    build.mkdir()
    uploaded = datetime.now(UTC) - timedelta(days=30)  # older than the default 7-day cooldown
    for i in range(projects):
        name = f"proj{i:02d}"
        files: list[Path] = []
        for version in ("1.0", "1.1", "1.2"):
            sources = {
                f"{name}/__init__.py": "",
                **{f"{name}/m{k}.py": module_text(name, k) for k in range(5)},
            }
            files.append(write_wheel(build, name, version, sources))
            files.append(write_sdist(build, name, version, sources))
        publish(root / "upstream", name, files, uploaded)
    big = big_wheel(build, big_mb)
    size = big.stat().st_size
    publish(root / "upstream", BIG, [big], uploaded)
    return big.name, size


def big_wheel(build: Path, megabytes: float) -> Path:
    """Realistic pure-Python code as data: standard-library sources, read as text, until the wheel
    (deflated) is about ``megabytes`` MB."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources: dict[str, bytes] = {f"{BIG}/__init__.py": b""}
    budget = megabytes * 1e6 * 4.2  # source deflates about 4x
    total = 0
    copy = 0
    while total < budget:
        for path in sorted(stdlib.rglob("*.py")):
            if "test" in path.parts or "site-packages" in path.parts or total >= budget:
                continue
            data = path.read_bytes()
            sources[f"{BIG}/c{copy}/{path.relative_to(stdlib).as_posix()}"] = data
            total += len(data)
        copy += 1
    return write_wheel(build, BIG, "1.0", sources)


# ---------------------------------------------------------------- the proxy


@contextmanager
def run_proxy(
    upstream: str, root: Path, jobs: int, page_ttl: float = 60.0
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = (
        "import argparse, sys\nfrom depvet.guard import proxy_cli\n"
        "parser = argparse.ArgumentParser()\nproxy_cli.add_parser(parser.add_subparsers(dest='command'))\n"
        "sys.exit(proxy_cli.run(parser.parse_args(sys.argv[1:])))\n"
    )
    argv = ["proxy", "--upstream", upstream, "--port", str(port), "--jobs", str(jobs), "-q"]
    argv += ["--db", str(root / "proxy.sqlite3"), "--cache-dir", str(root / "cache")]
    argv += ["--prescan-timeout", "300", "--page-ttl", str(page_ttl)]
    env = {**os.environ, "DEPVET_DATA_DIR": str(root / "data")}
    log = (root / "proxy.log").open("a")
    process = subprocess.Popen(
        [sys.executable, "-c", code, *argv], env=env, stdout=log, stderr=log, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the proxy exited: {(root / 'proxy.log').read_text()}")
            try:
                httpx.get(f"{url}/-/health", timeout=1, trust_env=False)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the proxy did not come up") from None
                time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of the process, and VmRSS of it with all its descendants (the scanners)."""

    def status(p: int) -> dict[str, int]:
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            return {}
        return {
            k: int(v.split()[0])
            for k, _, v in (line.partition(":") for line in lines)
            if k in ("VmRSS", "VmHWM")
        }

    def children(p: int) -> list[int]:
        found: list[int] = []
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
        return found

    own = status(pid)
    tree, todo = 0, [pid]
    while todo:
        current = todo.pop()
        tree += status(current).get("VmRSS", 0)
        todo += children(current)
    return {"rss": own.get("VmRSS", 0), "hwm": own.get("VmHWM", 0), "tree": tree}


# ---------------------------------------------------------------- load


@dataclass
class Load:
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def load(urls: list[str], concurrency: int) -> Load:
    """GET every URL over ``concurrency`` keep-alive connections, one request at a time on each.

    A few lines of HTTP/1.1 on asyncio streams rather than an HTTP library: on two cores the
    client shares the CPU with the servers it measures, and an HTTP library's per-request cost
    (httpx: ~3 ms here) would be most of what is measured.
    """
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    latencies: list[float] = []
    errors = 0
    target = urlsplit(urls[0])
    host, port = target.hostname or "127.0.0.1", target.port or 80

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                try:
                    url = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                try:
                    status, close = await _get(reader, writer, url, f"{host}:{port}")
                except (OSError, ValueError, asyncio.IncompleteReadError):
                    status, close = 0, True
                latencies.append(time.perf_counter() - started)
                errors += status != 200
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Load(time.perf_counter() - started, latencies, errors)


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str, authority: str
) -> tuple[int, bool]:
    """(status, whether the server closes the connection); the body is read and dropped."""
    path = urlsplit(url).path
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: {PIP_ACCEPT}\r\n\r\n".encode())
    status = int((await reader.readline()).split()[1])
    headers: dict[bytes, bytes] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers.get(b"connection", b"").lower() == b"close"


def page_urls(index: str, projects: int, requests: int) -> list[str]:
    return [f"{index}proj{i % projects:02d}/" for i in range(requests)]


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--big-mb", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=2, help="the proxy's scanning processes")
    args = parser.parse_args()

    with scratch_dir("depvet-bench-proxy-") as root:
        print("  building the upstream …", file=sys.stderr)
        big_name, big_size = build_index(root, args.projects, args.big_mb)
        big_sha = hashlib.sha256((root / "upstream" / "files" / big_name).read_bytes()).hexdigest()
        with serve_upstream(root / "upstream") as upstream:
            print("  upstream alone …", file=sys.stderr)
            asyncio.run(load(page_urls(upstream, args.projects, args.projects), args.concurrency))  # warm
            alone = asyncio.run(load(page_urls(upstream, args.projects, args.requests), args.concurrency))
            with run_proxy(upstream, root, args.jobs) as (proxy, process):
                index = f"{proxy}/simple/"
                print(
                    "  proxy: first page of each project (fetch + scan of its newest release) …",
                    file=sys.stderr,
                )
                warm = asyncio.run(load(page_urls(index, args.projects, args.projects), args.concurrency))
                print("  proxy …", file=sys.stderr)
                through = asyncio.run(load(page_urls(index, args.projects, args.requests), args.concurrency))
                memory = memory_kib(process.pid)
                print("  the big wheel …", file=sys.stderr)
                file_url = f"{proxy}/files/{BIG}/{big_sha}/{big_name}"
                started = time.perf_counter()
                first = httpx.get(file_url, timeout=600, trust_env=False)
                first_s = time.perf_counter() - started
                started = time.perf_counter()
                second = httpx.get(file_url, timeout=600, trust_env=False)
                second_s = time.perf_counter() - started
                memory_after_big = memory_kib(process.pid)
            stopped = process.returncode
            print("  proxy with --page-ttl 0 (every page fetched from the upstream) …", file=sys.stderr)
            with run_proxy(upstream, root, args.jobs, page_ttl=0) as (proxy, process):
                index = f"{proxy}/simple/"
                asyncio.run(load(page_urls(index, args.projects, args.projects), args.concurrency))  # warm
                before = _Handler.pages_served
                passing = asyncio.run(load(page_urls(index, args.projects, args.requests), args.concurrency))
                passing_upstream = _Handler.pages_served - before
        scan_alone_s, verdict, files_scanned = scan_in_process(root / "upstream" / "files" / big_name)

    added_p50 = quantile(passing.latencies, 0.5) - quantile(alone.latencies, 0.5)
    added_p99 = quantile(passing.latencies, 0.99) - quantile(alone.latencies, 0.99)
    ms = 1000.0

    def row(label: str, run: Load) -> tuple[object, ...]:
        p50, p99 = quantile(run.latencies, 0.5) * ms, quantile(run.latencies, 0.99) * ms
        return (label, len(run.latencies), f"{run.throughput:.0f}", f"{p50:.1f}", f"{p99:.1f}", run.errors)

    print(
        table(
            ["page requests", "requests", "req/s", "p50 ms", "p99 ms", "errors"],
            [
                row("upstream alone (http.server, threads)", alone),
                row("proxy, first page of each project (scans)", warm),
                row("proxy, pages cached (--page-ttl 60)", through),
                row("proxy, every page from upstream (--page-ttl 0)", passing),
            ],
            title=f"{args.concurrency} concurrent, {args.projects} projects (3 releases, 6 files each)",
        )
    )
    print()
    print(
        table(
            ["figure", "value"],
            [
                ("latency added over the upstream alone, p50 (ms; --page-ttl 0)", f"{added_p50 * ms:.1f}"),
                ("latency added over the upstream alone, p99 (ms; --page-ttl 0)", f"{added_p99 * ms:.1f}"),
                ("upstream page requests during the --page-ttl 0 run", str(passing_upstream)),
                ("proxy RSS after the page load (MiB)", f"{memory['rss'] / 1024:.1f}"),
                ("proxy peak RSS, VmHWM (MiB)", f"{memory_after_big['hwm'] / 1024:.1f}"),
                ("proxy + scanning processes RSS (MiB)", f"{memory_after_big['tree'] / 1024:.1f}"),
                ("exit code after SIGTERM", str(stopped)),
            ],
        )
    )
    print()
    print(
        table(
            ["unseen large wheel", "value"],
            [
                ("wheel size (MB)", f"{big_size / 1e6:.1f}"),
                ("files in it", str(files_scanned)),
                ("first request -> verdict and answer (s)", f"{first_s:.2f}"),
                ("  answer", f"{first.status_code}"),
                ("second request (s)", f"{second_s:.3f}"),
                ("  answer", f"{second.status_code}"),
                ("scan alone, in process (s)", f"{scan_alone_s:.2f}"),
                ("verdict", verdict),
            ],
        )
    )
    print()
    print("  " + ", ".join(f"{k} {v}" for k, v in provenance().items()))
    return 0


def scan_in_process(path: Path) -> tuple[float, str, int]:
    from depvet.artifacts.targets import expand_target
    from depvet.scanning import scan_all

    started = time.perf_counter()
    [result] = scan_all(expand_target(str(path)), jobs=1)
    return time.perf_counter() - started, result.verdict.value, result.files_scanned


if __name__ == "__main__":
    sys.exit(main())
