"""``python -m afas.sandbox``: serve a scenario; the first line of stdout is the URL template.

Examples::

    python -m afas.sandbox --port 0
    python -m afas.sandbox --scenario my.toml --port 8765
    python -m afas.sandbox --generate 500 --mix mixed --latency-ms 50 --list
"""

from __future__ import annotations

import argparse
import json
import sys

from .scenario import (
    Scenario,
    ScenarioError,
    default_scenario,
    generate_environments,
    load_scenario,
)
from .server import describe, serve_forever
from .serving import ListenError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m afas.sandbox", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scenario", help="a scenario TOML file (default: the built-in one)")
    source.add_argument("--generate", type=int, metavar="N", help="N generated environments")
    parser.add_argument("--mix", choices=("healthy", "mixed"), default="healthy")
    parser.add_argument("--latency-ms", type=int, default=0, help="with --generate")
    parser.add_argument("--start-number", type=int, default=20001, help="with --generate")
    parser.add_argument(
        "--list", action="store_true", help="after the URL, print each environment as JSON"
    )
    parser.add_argument("--log-level", default="warning")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.scenario:
            scenario = load_scenario(args.scenario)
        elif args.generate is not None:
            scenario = Scenario(
                environments=generate_environments(
                    args.generate,
                    mix=args.mix,
                    latency_ms=args.latency_ms,
                    start_number=args.start_number,
                )
            )
        else:
            scenario = default_scenario()
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2

    def ready(url_template: str) -> None:
        print(url_template, flush=True)
        if args.list:
            for entry in describe(scenario, url_template):
                print(json.dumps(entry), flush=True)

    # uvicorn handles SIGINT/SIGTERM itself and returns after a graceful shutdown.
    try:
        serve_forever(scenario, args.host, args.port, on_ready=ready, log_level=args.log_level)
    except ListenError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
