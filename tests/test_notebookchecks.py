"""A `raises-exception` cell that no longer raises is reported, naming its line (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import lesson_text, line_of, make_workshop, run_workshop

from workshopkit.model import Status
from workshopkit.notebookchecks import (
    expected_error_warning,
    expected_errors_missing,
    missing_error_warnings,
)


def code(source: str, tags: list[str], outputs: list[Any], count: int | None = 1) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {"tags": tags, "workshopkit_source": {"line": 10 + len(source), "cell": 3}},
        "outputs": outputs,
        "execution_count": count,
    }


ERROR = {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []}
PRINTED = {"output_type": "stream", "name": "stdout", "text": "fine\n"}


def test_only_raises_exception_cells_that_ran_and_raised_nothing_are_missing() -> None:
    nb = {
        "cells": [
            code("f()", ["raises-exception"], [ERROR]),  # raised: fine
            code("g()", ["raises-exception"], [PRINTED]),  # ran, no error: missing
            code("h()", [], [PRINTED]),  # not tagged
            code("i()", ["raises-exception", "skip-execution"], [], None),  # skipped
            code("j()", ["raises-exception"], [], None),  # never reached
            code("  ", ["raises-exception"], [], None),  # empty
            {"cell_type": "markdown", "source": "x", "metadata": {"tags": ["raises-exception"]}},
            code("k()", ["raises-exception"], []),  # ran, printed nothing, raised nothing
        ]
    }
    assert expected_errors_missing(nb) == [1, 7]
    assert missing_error_warnings("lessons/a.py", nb) == [
        expected_error_warning("lessons/a.py", 13, 3),
        expected_error_warning("lessons/a.py", 13, 3),
    ]


def test_the_warning_names_the_line_and_what_to_do() -> None:
    message = expected_error_warning("lessons/a.py", 42, 5)
    assert message.startswith("lessons/a.py:42 (cell 5): cell tagged 'raises-exception' raised no")
    assert "remove the tag" in message


@pytest.mark.kernel
def test_a_run_warns_when_an_expected_error_is_gone(tmp_path: Path) -> None:
    text = lesson_text(
        ("int('12')  # used to be int('twelve')", ("raises-exception",)),
        ("int('twelve')", ("raises-exception",)),
    )
    root = make_workshop(tmp_path / "w", {"lessons/story.py": text})
    _, results = run_workshop(root)
    result = results["story"]
    assert result.status is Status.PASSED
    line = line_of(text, "int('12')")
    expected = expected_error_warning("lessons/story.py", line, 1)
    assert [w for w in result.warnings if "raises-exception" in w] == [expected]
