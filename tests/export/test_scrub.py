"""No local path of the build machine in published outputs (export.scrub)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook, new_output

from workshopkit.export.scrub import CELL, ENV, HOME, scrub_outputs, scrub_text

HOME_DIR = os.path.expanduser("~")
TMP = tempfile.gettempdir()


def test_environment_prefixes_become_env() -> None:
    path = f"{sys.prefix}/lib/python3.12/site-packages/pandas/core/frame.py:4102"
    assert scrub_text(f"File {path}, in f") == (
        f"File {ENV}/lib/python3.12/site-packages/pandas/core/frame.py:4102, in f"
    )
    assert scrub_text(f"{sys.base_prefix}/lib/python3.12/json/decoder.py") == (
        f"{ENV}/lib/python3.12/json/decoder.py"
    )


def test_any_other_python_installation_becomes_env() -> None:
    for prefix in ("/opt/conda/envs/ml", "/usr", "~/.pyenv/versions/3.12.1", "C:\\Python312"):
        sep = "\\" if "\\" in prefix else "/"
        text = f"File {prefix}{sep}lib{sep}python3.12{sep}contextlib.py:144"
        assert scrub_text(text) == f"File {ENV}{sep}lib{sep}python3.12{sep}contextlib.py:144"


def test_home_scratch_and_ipykernel_files() -> None:
    assert scrub_text(f"open('{HOME_DIR}/data/x.csv')") == f"open('{HOME}/data/x.csv')"
    scratch = Path(TMP) / "workshopkit-intro-ab12_x9z" / "work"
    assert scrub_text(f"{scratch}/houses.csv not found") == "houses.csv not found"
    assert scrub_text(f"cwd is {scratch}") == "cwd is ."
    assert scrub_text(f"{TMP}/ipykernel_4242/2415384936.py:6: FutureWarning") == (
        f"{CELL}:6: FutureWarning"
    )


def test_lookalike_paths_are_left_alone() -> None:
    for text in (f"{HOME_DIR}fs/x", "see lib/python3.12 docs", "[env]/lib/python3.12/a.py"):
        assert scrub_text(text) == text


def test_scrub_outputs_covers_every_output_text_and_copies() -> None:
    path = f"{sys.prefix}/lib/python3.12/site-packages/a.py"
    cell = new_code_cell("x", execution_count=1)
    cell.outputs = [
        new_output("stream", name="stderr", text=f"warning from {path}\n"),
        new_output(
            "error", ename="E", evalue=f"bad {HOME_DIR}/x", traceback=[f"File {path}:1", "E: bad"]
        ),
        new_output(
            "execute_result",
            data={"text/plain": path, "text/html": f"<p>{path}</p>"},
            execution_count=1,
        ),
    ]
    nb = new_notebook(cells=[cell])
    clean = scrub_outputs(nb)
    text = str(clean)
    assert sys.prefix not in text and f"{HOME_DIR}/" not in text
    assert clean.cells[0].outputs[1]["evalue"] == f"bad {HOME}/x"
    assert nb.cells[0].outputs[0]["text"] == f"warning from {path}\n"  # the input is unchanged


def test_report_json_quotes_no_local_path(tmp_path: Path) -> None:
    from export_scenarios import open_valid, scenario

    from workshopkit.export import export_workshop
    from workshopkit.model import LessonError, LessonResult, Status

    workshop = open_valid(scenario(tmp_path))
    lesson = workshop.lessons[0]
    path = f"{sys.prefix}/lib/python3.12/site-packages/pandas/core/frame.py"
    error = LessonError(
        lesson.relpath, 3, 1, "KeyError", f"'x' not in {HOME_DIR}/data", f"File {path}:12, in f"
    )
    failed = LessonResult(lesson.id, lesson.relpath, Status.FAILED, 1.0, error=error)
    export_workshop(workshop, {lesson.id: failed}, tmp_path / "dist")
    report = json.loads((tmp_path / "dist" / "report.json").read_text(encoding="utf-8"))
    entry = next(e for e in report["lessons"] if e["id"] == lesson.id)
    assert entry["error"]["traceback"] == (
        f"File {ENV}/lib/python3.12/site-packages/pandas/core/frame.py:12, in f"
    )
    assert entry["error"]["evalue"] == f"'x' not in {HOME}/data"
