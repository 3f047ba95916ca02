"""The image's HEALTHCHECK: exit 0 when ``afasbot serve`` answers 200 on ``/healthz`` (or the
path given, e.g. ``/readyz``), 1 otherwise, saying why on stderr.

Standard library only, because the slim image has no curl. It asks the port and host that
``serve`` reads, under the same names in the same order (bot/settings.py), and ignores any
HTTP proxy in the environment: a health check must reach this container, not the proxy.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 3.0
#: ``serve`` on every address is asked on loopback.
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def first_set(*names: str, default: str) -> str:
    return next((os.environ[name] for name in names if os.environ.get(name)), default)


def health_url(path: str = "/healthz") -> str:
    port = first_set("AFASBOT_PORT", "AFASBOT_SLACK_PORT", "PORT", default="3000")
    host = first_set("AFASBOT_HOST", "AFASBOT_SLACK_HOST", default="0.0.0.0")
    host = WILDCARD_HOSTS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def main(argv: list[str]) -> int:
    url = health_url(argv[1] if len(argv) > 1 else "/healthz")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: {url}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
