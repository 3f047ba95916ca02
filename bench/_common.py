"""What the benchmark scripts share: the sandbox in its own process, machine facts,
percentiles, option defaults for ``--quick``, and writing the JSON figures.

The sandbox runs as ``python -m afas.sandbox`` in a child process, not in a thread, so that
the server and the client under test do not share one GIL (on 2 cores that would halve both).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from rich.console import Console
from rich.table import Table

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.tokens import AfasToken

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
LoopName = Literal["asyncio", "uvloop"]
T = TypeVar("T")


# -- the sandbox in a child process ------------------------------------------------------


@dataclass(frozen=True)
class SandboxEntry:
    """One environment the sandbox serves, with the token that opens it."""

    name: str
    environment: AfasEnvironment
    token: AfasToken


class SandboxProcess:
    """``python -m afas.sandbox --generate N --mix healthy --latency-ms X --port 0 --list``.

    A context manager: starts the server, reads the URL template (first stdout line) and one
    JSON line per environment, and terminates the process on exit, also on an error or
    Ctrl-C. What the server writes to stderr is kept in a temporary file and shown if it
    fails to start.
    """

    def __init__(
        self,
        environments: int,
        *,
        latency_ms: int,
        mix: str = "healthy",
        start_timeout: float = 30.0,
    ) -> None:
        self.command = [
            sys.executable,
            "-m",
            "afas.sandbox",
            "--generate",
            str(environments),
            "--mix",
            mix,
            "--latency-ms",
            str(latency_ms),
            "--port",
            "0",
            "--list",
        ]
        self.expected = environments
        self.start_timeout = start_timeout
        self.url_template = ""
        self.entries: list[SandboxEntry] = []
        self._process: subprocess.Popen[str] | None = None
        # Lives as long as the process; closed in stop().
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115

    def __enter__(self) -> SandboxProcess:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _start(self) -> None:
        process = self._process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )
        # A stuck start must not hang the benchmark: kill it, and readline() sees EOF.
        watchdog = threading.Timer(self.start_timeout, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            self.url_template = process.stdout.readline().strip()
            if "{host}" not in self.url_template or "{env}" not in self.url_template:
                raise RuntimeError(self._failure("no URL template on its first line"))
            for _ in range(self.expected):
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(self._failure("fewer environments than asked for"))
                self.entries.append(_entry(json.loads(line)))
        finally:
            watchdog.cancel()

    def _failure(self, what: str) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:]
        return f"The AFAS sandbox did not start ({what}). Its stderr:\n{tail}"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        self._stderr.close()


def _entry(data: dict[str, Any]) -> SandboxEntry:
    environment = AfasEnvironment(str(data["number"]), EnvironmentKind.parse(data["kind"]))
    return SandboxEntry(str(data["name"]), environment, AfasToken.parse(data["token"]))


# -- running, measuring, reporting -------------------------------------------------------


def make_console() -> Console:
    """A console that does not squeeze the tables to 80 columns when output is piped."""
    console = Console()
    if not console.is_terminal:
        console.width = 132
    return console


def run(coroutine: Coroutine[Any, Any, T], loop: LoopName = "asyncio") -> T:
    """Run the client side on the event loop asked for (asyncio's own, or uvloop)."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` by linear interpolation between samples."""
    if not values:
        return {f"p{p}": float("nan") for p in points}
    if len(values) == 1:
        return {f"p{p}": float(values[0]) for p in points}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {f"p{p}": cuts[p - 1] for p in points}


def machine_facts() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": _versions(("httpx", "httpx-aiohttp", "aiohttp", "uvicorn", "uvloop")),
        "git_commit": _git_commit(),
    }


def _versions(names: Sequence[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _git_commit() -> str | None:
    """The commit the figures belong to, with ``+dirty`` when the tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def write_results(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def default_output(script: str) -> Path:
    return RESULTS_DIR / f"{script}.json"


# -- options with a --quick variant ------------------------------------------------------


def apply_defaults(
    args: argparse.Namespace, full: dict[str, Any], quick: dict[str, Any]
) -> argparse.Namespace:
    """Fill the options left unset: from ``quick`` with ``--quick``, else from ``full``.

    An option given on the command line always wins, also with ``--quick``.
    """
    chosen = quick if args.quick else full
    for name, value in chosen.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def int_list(text: str) -> list[int]:
    """``"8,32,64"`` -> ``[8, 32, 64]`` (for argparse)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers: {text}")
    return values


def name_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# -- latency benches: concurrent against sequential, one table and one main -------------------

LATENCY_COLUMNS = (
    "requests",
    "concurrent median ms",
    "concurrent min ms",
    "sequential median ms",
    "sequential min ms",
    "requests × latency ms",
    "concurrent bound ms",
    "speed-up (seq/conc)",
    "speed-up bound",
)


def speedup_row(
    mode: str,
    requests: int,
    rounds: int,
    variants: dict[str, list[dict[str, Any]]],
    latency_ms: int,
) -> dict[str, Any]:
    """One mode's figures: medians and minima of both variants, the bounds (one latency per
    request one after another; one per round of concurrent requests) and the ratios."""
    concurrent = [r["wall_ms"] for r in variants["concurrent"]]
    sequential = [r["wall_ms"] for r in variants["sequential"]]
    return {
        "mode": mode,
        "requests": requests,
        "concurrent_median_ms": round(statistics.median(concurrent), 1),
        "concurrent_min_ms": round(min(concurrent), 1),
        "sequential_median_ms": round(statistics.median(sequential), 1),
        "sequential_min_ms": round(min(sequential), 1),
        "sequential_theory_ms": requests * latency_ms,
        "concurrent_theory_ms": rounds * latency_ms,
        "speedup": round(statistics.median(sequential) / statistics.median(concurrent), 2),
        "speedup_theory": round(requests / rounds, 2),
    }


def speedup_table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    """The latency benches' table: one row per mode, medians, minima, bounds and ratios."""
    out = Table(title=title)
    out.add_column("mode")
    for name in LATENCY_COLUMNS:
        out.add_column(name, justify="right")
    for row in rows:
        out.add_row(
            row["mode"],
            str(row["requests"]),
            f"{row['concurrent_median_ms']:,.1f}",
            f"{row['concurrent_min_ms']:,.1f}",
            f"{row['sequential_median_ms']:,.1f}",
            f"{row['sequential_min_ms']:,.1f}",
            f"{row['sequential_theory_ms']:,}",
            f"{row['concurrent_theory_ms']:,}",
            f"{row['speedup']:.2f}x",
            f"{row['speedup_theory']:.2f}x",
        )
    return out


def latency_args(
    script: str,
    description: str,
    argv: Sequence[str] | None,
    full: dict[str, Any],
    quick: dict[str, Any],
) -> argparse.Namespace:
    """The latency benches' options (``--repeat``, ``--latency-ms``, ``--quick``…)."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{script}", description=description)
    parser.add_argument("--repeat", type=int, help="runs per mode and variant (default 5)")
    parser.add_argument("--latency-ms", type=int, help="the sandbox's answer time (default 100)")
    parser.add_argument("--transport", choices=("aiohttp", "httpx"), default="aiohttp")
    parser.add_argument("--per-environment-limit", type=int, default=4)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--output", type=Path, default=default_output(script))
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 repeat at 20 ms")
    args = apply_defaults(parser.parse_args(argv), full, quick)
    if args.repeat < 1 or args.latency_ms < 1 or args.per_environment_limit < 1:
        parser.error("--repeat, --latency-ms and --per-environment-limit must be at least 1")
    return args


def latency_main(
    script: str,
    args: argparse.Namespace,
    measure: Callable[[argparse.Namespace, str, SandboxEntry], Coroutine[Any, Any, Any]],
    summarise: Callable[[Any, int, int], tuple[list[dict[str, Any]], list[str]]],
    title: str,
) -> int:
    """Serve one sandbox environment at ``--latency-ms``, measure, print the table, write JSON."""
    console = make_console()
    try:
        with SandboxProcess(1, latency_ms=args.latency_ms) as sandbox:
            entry = sandbox.entries[0]
            console.print(
                f"[dim]sandbox pid {sandbox.pid}: {entry.name}, {args.latency_ms} ms per call[/dim]"
            )
            runs = run(measure(args, sandbox.url_template, entry), args.loop)
    except KeyboardInterrupt:
        console.print("[red]interrupted; the sandbox was stopped[/red]")
        return 130
    rows, problems = summarise(runs, args.latency_ms, args.per_environment_limit)
    parameters = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    results = {
        "benchmark": script,
        "machine": machine_facts(),
        "parameters": parameters,
        "modes": rows,
        "runs": runs,
        "problems": problems,
        "ok": not problems,
    }
    path = write_results(args.output, results)
    console.print(
        speedup_table(
            rows,
            f"{title}, sandbox {args.latency_ms} ms per call, {args.repeat} run(s) per variant, "
            f"{args.per_environment_limit} per environment, {args.transport}",
        )
    )
    machine = results["machine"]
    console.print(
        f"{machine['cpus_usable']} CPUs, Python {machine['python']}, {machine['platform']}, "
        f"client loop {args.loop}. Figures: {path}"
    )
    for problem in problems:
        console.print(f"[bold red]{problem}[/]")
    return 1 if problems else 0
