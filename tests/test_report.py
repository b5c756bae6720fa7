"""report: one report.json schema for every writer, validated with jsonschema (issue 12).

Each kind of report is written by the real command (the executor replaced by canned results, so
no kernel starts): `run`, `run` stopped before any lesson ran, `build` (dist/report.json and
`--report`), a build that kept dist/, and `export_workshop` on its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_support import invoke
from export_scenarios import fake_results, open_valid, scenario

from workshopkit import execute, report
from workshopkit.errors import InfrastructureError
from workshopkit.execute import RunReport
from workshopkit.export import export_workshop


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report.SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def validate(data: Any) -> None:
    jsonschema.Draft202012Validator(schema()).validate(data)


def canned(scratch: Path, failed: tuple[str, ...] = ()) -> Any:
    def run_lessons(workshop: Any, lessons: Any, options: Any, on_event: Any = None) -> Any:
        chosen = {lesson.id for lesson in lessons}
        results = fake_results(workshop, scratch, failed=failed)
        return RunReport(tuple(r for r in results if r.lesson_id in chosen), 2, 1.5)

    return run_lessons


def no_kernel(*args: Any, **kw: Any) -> Any:
    raise InfrastructureError("no such kernel 'nope' (--kernel)", path="workshop.toml")


def written(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The report.json one kind of writer leaves."""
    root = scenario(tmp_path / "ws")
    failed = ("next-steps",) if kind in ("run-failed", "build-kept") else ()
    monkeypatch.setattr(execute, "run_lessons", canned(tmp_path / "scratch", failed))
    if kind == "export":
        export_workshop(open_valid(root), fake_results(open_valid(root), tmp_path / "s"), tmp_path)
        return read(tmp_path / "report.json")
    if kind == "run-no-kernel":
        monkeypatch.setattr(execute, "run_lessons", no_kernel)
    command = "build" if kind.startswith("build") else "run"
    extra = [root / "lessons/02-next"] if kind == "run-one" else [root]
    result = invoke([command, *extra, "--report", tmp_path / "report.json"])
    assert result.exit_code in (0, 1, 3), result.stderr
    if kind == "build-dist":
        return read(root / "dist/report.json")
    return read(tmp_path / "report.json")


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


KINDS = [
    "run", "run-one", "run-failed", "run-no-kernel", "build", "build-dist", "build-kept", "export",
]  # fmt: skip


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("kind", KINDS)
def test_every_writer_follows_the_schema(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = written(kind, tmp_path, monkeypatch)
    validate(data)
    assert data["schema"] == report.SCHEMA == 1
    assert data["command"] == ("run" if kind.startswith("run") else "build")


def test_a_run_names_what_it_ran_and_what_stopped_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = written("run-no-kernel", tmp_path, monkeypatch)
    assert (data["status"], data["exit_code"], data["kernels_started"]) == ("error", 3, 0)
    assert data["error"] == "workshop.toml: no such kernel 'nope' (--kernel)"
    assert data["lessons"] == [] and "tracks" not in data


def test_run_and_build_reports_agree_on_every_lesson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = written("run-failed", tmp_path / "a", monkeypatch)
    kept = written("build-kept", tmp_path / "b", monkeypatch)
    assert (run["status"], run["exit_code"], run["seconds"], run["kernels_started"]) == (
        "failed", 1, 1.5, 2,
    )  # fmt: skip
    assert run["summary"] == kept["summary"] == {"passed": 2, "failed": 1, "skipped": 0}
    for entry in (*run["lessons"], *kept["lessons"]):
        entry.pop("seconds")
    assert run["lessons"] == kept["lessons"]


@pytest.mark.parametrize(
    "broken",
    [
        lambda d: d.pop("schema"),
        lambda d: d.update(schema=2),
        lambda d: d.update(rule_errors=[]),  # the old run report's field: gone in schema 1
        lambda d: d.update(status="passed"),  # while exit_code says 1
        lambda d: d.pop("tracks"),  # a build lists its tracks
        lambda d: d["lessons"][0].pop("exported"),
        lambda d: d["lessons"][0]["error"].pop("line"),
    ],
)
def test_the_schema_rejects_a_report_that_breaks_it(
    broken: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = written("build-kept", tmp_path, monkeypatch)
    data["lessons"].sort(key=lambda entry: entry["error"] is None)  # the failed lesson first
    validate(data)
    broken(data)
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


def test_the_docstring_documents_every_field_of_the_schema() -> None:
    documented = set(re.findall(r"^(\w+) {2,}", report.__doc__ or "", re.MULTILINE))
    assert documented == set(schema()["properties"])
