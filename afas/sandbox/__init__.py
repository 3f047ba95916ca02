"""The AFAS sandbox: a faithful fake of the AFAS Profit REST API, for tests, demo and benchmarks.

One process serves many fake environments, routed by path
(``http://127.0.0.1:PORT/{host}/{env}/ProfitRestServices``), each with its own token, App
Connector and behaviour from a scenario. It imports nothing from ``bot`` or ``storage``.
"""

from .app import create_app
from .scenario import (
    SandboxEnvironment,
    Scenario,
    ScenarioError,
    default_scenario,
    generate_environments,
    load_scenario,
)
from .server import SandboxServer, describe, serve_forever

__all__ = [
    "SandboxEnvironment",
    "SandboxServer",
    "Scenario",
    "ScenarioError",
    "create_app",
    "default_scenario",
    "describe",
    "generate_environments",
    "load_scenario",
    "serve_forever",
]
