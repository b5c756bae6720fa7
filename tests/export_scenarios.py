"""Scenario workshops for the export and build tests, built in tmp_path without any kernel.

`fake_results` makes results that look like `execute.run_lessons` output: each passed lesson
gets an "executed" notebook with outputs, papermill metadata, an `injected-parameters` cell and
execution timings, so exports see what real runs give them.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from workshopkit.load import to_notebook
from workshopkit.model import LessonError, LessonResult, Status, Workshop
from workshopkit.pipeline import open_workshop

HERE = Path(__file__).parent
EXAMPLE = HERE.parent / "workshops" / "ml-meetup"

XSS_TITLE = "</script><script>alert(1)</script>"


def lesson_text(
    lesson_id: str,
    *,
    title: str | None = None,
    level: str = "beginner",
    minutes: int = 10,
    requires: Sequence[str] = (),
    objectives: Sequence[str] = (),
    tags: Sequence[str] = (),
    body: str = "",
) -> str:
    """A py:percent lesson with a `workshopkit` header; `body` is the cells, dedented."""
    head = [
        "# ---",
        "# jupyter:",
        "#   kernelspec: {display_name: Python 3, language: python, name: python3}",
        "#   workshopkit:",
        f"#     id: {lesson_id}",
        f"#     title: {json.dumps(title or lesson_id.replace('-', ' ').title())}",
        f"#     level: {level}",
        f"#     minutes: {minutes}",
    ]
    if requires:
        head.append(f"#     requires: {json.dumps(list(requires))}")
    if objectives:
        head.append(f"#     objectives: {json.dumps(list(objectives))}")
    if tags:
        head.append(f"#     tags: {json.dumps(list(tags))}")
    head += ["# ---", ""]
    cells = textwrap.dedent(body).strip("\n") or "# %%\nprint('hello')"
    return "\n".join(head) + "\n" + cells + "\n"


EXERCISES = """
# %% [markdown] slideshow={"slide_type": "slide"}
# # Exercises
#
# ![a chart](chart.png)

# %% tags=["parameters"]
n = 3

# %% tags=["exercise"]
def predict(w, b, x):
    # BEGIN SOLUTION
    return w * x + b
    # END SOLUTION

# %% tags=["exercise"]
# BEGIN SOLUTION
total = sum(range(n))
# END SOLUTION
print(total)

# %% tags=["exercise"]
values = []
# BEGIN SOLUTION
values.append(n)
# END SOLUTION
print(values)

# %% tags=["solution"]
answer = predict(2, 1, n)
print(answer)

# %% [markdown] tags=["solution"]
# The answer is 7.

# %% tags=["raises-exception"]
predict(1, 2)

# %%
with open("numbers.csv") as fh:
    print(fh.read().strip())
"""

PLAIN = """
# %% [markdown]
# # {title}
#
# Some text.

# %%
x = 40 + 2
print(x)
"""

DEFAULT_TOML = """\
title = "Scenario workshop"
description = "A small workshop for tests."
requirements = "requirements.txt"

[[tracks]]
id = "basics"
title = "Basics, beginner to advanced"
levels = ["beginner", "intermediate", "advanced"]
"""

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d9b40c0000000049454e44ae426082"
)


def write_files(root: Path, files: Mapping[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def scenario(
    root: Path, *, toml: str = DEFAULT_TOML, extra: Mapping[str, str | bytes] | None = None
) -> Path:
    """The standard scenario: three lessons in their own folders, assets, requirements."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, str | bytes] = {
        "workshop.toml": toml,
        "requirements.txt": "numpy==2.0.0\n",
        "lessons/01-exercises/lesson.py": lesson_text(
            "exercises",
            title="Exercises and solutions",
            minutes=20,
            objectives=["Write a function", "Fill in a value"],
            tags=["python"],
            body=EXERCISES,
        ),
        "lessons/01-exercises/chart.png": PNG_1PX,
        "lessons/01-exercises/numbers.csv": "1,2,3\n",
        "lessons/02-next/lesson.py": lesson_text(
            "next-steps",
            title="Next steps",
            level="intermediate",
            minutes=15,
            requires=["exercises"],
            objectives=["Go further"],
            body=PLAIN.format(title="Next steps"),
        ),
        "lessons/03-deep/lesson.py": lesson_text(
            "deep-dive",
            title="Deep dive",
            level="advanced",
            minutes=30,
            requires=["next-steps"],
            body=PLAIN.format(title="Deep dive"),
        ),
    }
    files.update(extra or {})
    write_files(root, files)
    return root


def open_valid(root: Path) -> Workshop:
    opened = open_workshop(root)
    assert opened.workshop is not None, [str(d) for d in opened.diagnostics]
    return opened.workshop


def fake_executed(nb: NotebookNode, scratch: Path) -> NotebookNode:
    """What papermill gives back: outputs, counts, timings, metadata, injected parameters."""
    out = copy.deepcopy(nb)
    count = 0
    cells = []
    for cell in out.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = [new_output("stream", name="stdout", text=f"output of cell {count}\n")]
        if "raises-exception" in cell.metadata.get("tags", []):
            cell.outputs.append(
                new_output("error", ename="TypeError", evalue="missing x", traceback=["TypeError"])
            )
        cell.metadata["papermill"] = {
            "duration": 0.01 * count,
            "end_time": "2026-11-23T10:00:01.000000",
            "exception": False,
            "start_time": "2026-11-23T10:00:00.000000",
            "status": "completed",
        }
        cell.metadata["execution"] = {
            "iopub.execute_input": "2026-11-23T10:00:00.100000Z",
            "shell.execute_reply": "2026-11-23T10:00:00.200000Z",
        }
        cell.metadata["ExecuteTime"] = {"start_time": "2026-11-23T10:00:00"}
        if "parameters" in cell.metadata.get("tags", []):
            injected = new_code_cell(
                "# Parameters\nn = 3\n", metadata={"tags": ["injected-parameters"]}
            )
            injected.execution_count = count
            cells.append(injected)
    out.cells = cells
    out.metadata["papermill"] = {
        "duration": 1.5,
        "input_path": str(scratch / "input.ipynb"),
        "output_path": str(scratch / "output.ipynb"),
        "start_time": "2026-11-23T10:00:00",
        "end_time": "2026-11-23T10:00:01",
        "parameters": {"n": 3},
        "environment_variables": {},
        "exception": None,
        "version": "2.7.0",
    }
    out.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    return out


def with_error_banner(nb: NotebookNode) -> NotebookNode:
    out = copy.deepcopy(nb)
    banner = new_markdown_cell(
        '<span style="color:red">An Exception was encountered at <a href="#papermill-error-'
        'cell">In [2]</a>.</span>',
        metadata={"tags": ["papermill-error-cell-tag"]},
    )
    out.cells.insert(0, banner)
    return out


def fake_results(
    workshop: Workshop,
    scratch: Path,
    *,
    failed: Iterable[str] = (),
    skipped: Iterable[str] = (),
) -> tuple[LessonResult, ...]:
    """One result per lesson, as `run_lessons` would return them (no kernel started)."""
    failed, skipped = set(failed), set(skipped)
    scratch.mkdir(parents=True, exist_ok=True)
    results = []
    for lesson in workshop.lessons:
        if lesson.id in failed:
            error = LessonError(lesson.relpath, 12, 3, "ValueError", "boom", "Traceback...")
            results.append(LessonResult(lesson.id, lesson.relpath, Status.FAILED, 0.5, error))
        elif lesson.id in skipped:
            results.append(
                LessonResult(lesson.id, lesson.relpath, Status.SKIPPED, 0.0, reason="needs a GPU")
            )
        else:
            path = scratch / f"{lesson.id}.executed.ipynb"
            nbformat.write(fake_executed(to_notebook(lesson), scratch), str(path))
            results.append(
                LessonResult(lesson.id, lesson.relpath, Status.PASSED, 1.25, notebook=path)
            )
    return tuple(results)


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative POSIX path (to compare folders byte for byte)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
