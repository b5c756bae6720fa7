"""What an executed notebook says about a lesson's story beyond "it ran": warnings, not failures.

A cell tagged `raises-exception` shows an error on purpose ("this is what goes wrong when...").
If it no longer raises (a library fixed the behaviour, the cell was edited), the lesson still
passes but its story is broken: the text around the cell explains an error nobody sees.

Pure functions of an executed notebook (nbformat-like mappings), so the executor, the cache and
tests can all call them; nothing here imports nbformat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .load import SOURCE_KEY
from .model import TAG_RAISES, TAG_SKIP, cell_tags

__all__ = ["expected_error_warning", "expected_errors_missing", "missing_error_warnings"]


def expected_errors_missing(nb: Mapping[str, Any]) -> list[int]:
    """Indexes of the cells tagged `raises-exception` that ran and raised nothing.

    Cells that did not run (skipped, empty, or never reached) are not counted: the lesson's
    other checks report those."""
    missing = []
    cells: Sequence[Mapping[str, Any]] = nb.get("cells", [])
    for index, cell in enumerate(cells):
        tags = cell_tags(cell)
        if cell.get("cell_type") != "code" or TAG_RAISES not in tags or TAG_SKIP in tags:
            continue
        if not str(cell.get("source", "")).strip() or cell.get("execution_count") is None:
            continue
        outputs = cell.get("outputs", [])
        if not any(out.get("output_type") == "error" for out in outputs):
            missing.append(index)
    return missing


def expected_error_warning(relpath: str, line: int, number: int | None) -> str:
    """The warning for a `raises-exception` cell that raised nothing, at its `.py` line."""
    where = f"{relpath}:{line}" + (f" (cell {number})" if number is not None else "")
    return (
        f"{where}: cell tagged 'raises-exception' raised no error, so the lesson no longer shows "
        "the error it explains; make the cell fail again, or remove the tag and update the text"
    )


def missing_error_warnings(relpath: str, nb: Mapping[str, Any]) -> list[str]:
    """One warning per `expected_errors_missing` cell, located by its `workshopkit_source`."""
    found = []
    cells: Sequence[Mapping[str, Any]] = nb.get("cells", [])
    for index in expected_errors_missing(nb):
        source = cells[index].get("metadata", {}).get(SOURCE_KEY, {})
        line = int(source.get("line", 0)) if isinstance(source, Mapping) else 0
        number = source.get("cell") if isinstance(source, Mapping) else None
        found.append(expected_error_warning(relpath, line, number if number else index + 1))
    return found
