"""A test whose prerequisite is missing (PostgreSQL, ``../shared``) is skipped with its reason
on a developer's machine and fails in CI, where the variable that requires it is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import prerequisite_missing, require_shared_dir


def test_a_missing_prerequisite_is_skipped_with_its_reason_and_the_way_to_require_it() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        prerequisite_missing("no server", required_by="AFASBOT_REQUIRE_X", environ={})
    assert str(skipped.value) == "no server; set AFASBOT_REQUIRE_X=1 to make this a failure"


def test_a_missing_prerequisite_fails_when_its_variable_requires_it() -> None:
    environ = {"AFASBOT_REQUIRE_X": "1"}
    with pytest.raises(pytest.fail.Exception) as failed:
        prerequisite_missing("no server", required_by="AFASBOT_REQUIRE_X", environ=environ)
    assert str(failed.value) == "no server, and AFASBOT_REQUIRE_X=1"


@pytest.mark.parametrize("value", ["0", "", "yes"])
def test_only_the_value_1_requires_it(value: str) -> None:
    environ = {"AFASBOT_REQUIRE_X": value}
    with pytest.raises(pytest.skip.Exception):
        prerequisite_missing("no server", required_by="AFASBOT_REQUIRE_X", environ=environ)


def test_a_lone_clone_skips_the_shared_tests_and_names_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "shared"
    with pytest.raises(pytest.skip.Exception, match="shared not found"):
        require_shared_dir(missing, environ={})
    with pytest.raises(pytest.fail.Exception, match="AFASBOT_REQUIRE_SHARED=1"):
        require_shared_dir(missing, environ={"AFASBOT_REQUIRE_SHARED": "1"})


def test_the_shared_folder_is_used_when_it_is_there(tmp_path: Path) -> None:
    environ = {"AFASBOT_REQUIRE_SHARED": "1"}
    assert require_shared_dir(tmp_path, environ=environ) == tmp_path
