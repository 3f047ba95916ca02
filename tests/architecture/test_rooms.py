"""The house's rules, read from the source: storage/ owns every query, and imports run one way
(conventions.md "The house"). A test fails when a module breaks them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUERY_BUILDERS = {"select", "update", "delete", "insert", "func", "text", "col", "or_", "and_"}
QUERY_MODULES = ("sqlmodel", "sqlalchemy")
SESSION_QUERIES = {"exec", "execute", "get", "query", "scalars", "scalar"}


def modules(room: str) -> list[Path]:
    return sorted(p for p in (ROOT / room).rglob("*.py") if "__pycache__" not in p.parts)


def query_building(path: Path) -> list[str]:
    """What in ``path`` builds or runs a query: SQL builders imported from SQLAlchemy or
    sqlmodel, and ``session.exec/get/execute`` calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(QUERY_MODULES):
            found += [
                f"line {node.lineno}: imports {alias.name} from {node.module}"
                for alias in node.names
                if alias.name in QUERY_BUILDERS
            ]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_QUERIES
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
        ):
            found.append(f"line {node.lineno}: session.{node.func.attr}(…)")
    return found


def imported_rooms(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rooms: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            rooms |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            rooms.add(node.module.split(".")[0])
    return rooms


@pytest.mark.parametrize("path", modules("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_bot_builds_no_query(path: Path) -> None:
    assert query_building(path) == [], "storage/ owns every query: call a repository function"


@pytest.mark.parametrize(
    ("room", "forbidden"), [("afas", {"bot", "storage"}), ("storage", {"bot"})]
)
def test_imports_run_one_way(room: str, forbidden: set[str]) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_rooms(path) & forbidden)
        for path in modules(room)
        if imported_rooms(path) & forbidden
    }
    assert offenders == {}


def test_the_rule_does_notice_a_query(tmp_path: Path) -> None:
    """Guards the test above: the detector sees the shapes that used to be in bot/."""
    module = tmp_path / "m.py"
    module.write_text(
        "from sqlmodel import col, select\n"
        "def f(session):\n"
        "    return session.exec(select(X).where(col(X.a).is_(None))).first(), session.get(X, 1)\n"
    )
    assert len(query_building(module)) == 4


@pytest.mark.parametrize(
    "path",
    [p for room in ("afas", "bot", "storage") for p in modules(room) if p.name == "__init__.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_init_files_only_export(path: Path) -> None:
    """A package's ``__init__.py`` holds a docstring, imports and ``__all__``: the code lives in
    a module whose name says what it is."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = (ast.Import, ast.ImportFrom)
    code = [
        node.lineno
        for node in tree.body
        if not isinstance(node, allowed)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        and not (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
        )
    ]
    assert code == []
