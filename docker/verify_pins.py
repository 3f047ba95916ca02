"""Fail unless the environment this runs in holds exactly what constraints.txt pins.

``pip install --constraint`` pins what it installs but lets through a dependency the file does
not name (one added to pyproject.toml since the last refresh) at whatever version is newest:
this turns that into a failed build that says which packages and how to refresh. Standard
library only; run with the venv's own interpreter from the source directory.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

PROJECT = "afasbot"


def canonical(name: str) -> str:
    """The package name as PEP 503 compares them (``pydantic_core`` is ``pydantic-core``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep or not version:
                raise SystemExit(f"constraints.txt: not a pin: {line!r}")
            pins[canonical(name)] = version.strip()
    return pins


def installed() -> dict[str, str]:
    found = {canonical(d.metadata["Name"]): d.version for d in distributions()}
    found.pop(PROJECT, None)
    return found


def differences(pins: dict[str, str], have: dict[str, str]) -> list[str]:
    lines = [
        f"{name} {version} is installed but not pinned"
        for name, version in have.items()
        if name not in pins
    ]
    lines += [
        f"{name} is pinned at {pins[name]} but {version} is installed"
        for name, version in have.items()
        if name in pins and pins[name] != version
    ]
    lines += [f"{name}=={pins[name]} is pinned but not needed" for name in pins if name not in have]
    return sorted(lines)


def main() -> int:
    problems = differences(pinned(Path("constraints.txt").read_text("utf-8")), installed())
    for line in problems:
        print(f"constraints.txt: {line}", file=sys.stderr)
    if problems:
        print("Refresh it: scripts/refresh-constraints.sh (see its header).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
