"""Local paths out of published outputs: no home folder, environment prefix or scratch folder of
the machine that built the workshop appears in `dist/` (issue 11).

Outputs of executed lessons quote the builder's paths: tracebacks name
``/home/ana/.venv/lib/python3.12/site-packages/pandas/...``, a lesson that prints ``os.getcwd()``
shows its scratch copy ``/tmp/workshopkit-<id>-x1y2z3/work``. Every output text of the solution
notebooks, the decks and `report.json` goes through :func:`scrub_text`:

- the lesson's scratch folder (``<tmp>/workshopkit-<id>-<random>/work``) becomes ``.``, the
  lesson's folder;
- the build's environment (``sys.prefix``, ``sys.base_prefix``) becomes ``[env]``, and so does
  the start of any other ``.../lib/pythonX.Y/`` (a kernel in another environment);
- the file ipykernel runs a cell from (``<tmp>/ipykernel_<pid>/<hash>.py``, in warnings) becomes
  ``[cell]``;
- the user's home folder becomes ``~``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ENV", "scrub_outputs", "scrub_text"]

ENV = "[env]"
HOME = "~"
CELL = "[cell]"
_TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml")
_BOUNDARY = r"(?![A-Za-z0-9_.-])"  # the path ends here or continues with a separator


def _variants(path: str) -> list[str]:
    """A path as written, resolved and without ``/private`` (macOS), longest first."""
    out = {path.rstrip("/\\")}
    with contextlib.suppress(OSError):
        out.add(str(Path(path).resolve()).rstrip("/\\"))
    out |= {p.removeprefix("/private") for p in out if p.startswith("/private/")}
    return sorted((p for p in out if len(p) > 1), key=len, reverse=True)


@functools.lru_cache(maxsize=1)
def _rules() -> tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]:
    rules: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = []
    for tmp in _variants(tempfile.gettempdir()):
        scratch = re.escape(tmp) + r"[/\\]workshopkit-[A-Za-z0-9_.-]+?[/\\]work"
        rules.append((re.compile(scratch + r"[/\\]"), ""))
        rules.append((re.compile(scratch + _BOUNDARY), "."))
        # the file ipykernel compiles a cell to, named in warnings: /tmp/ipykernel_123/456.py
        rules.append((re.compile(re.escape(tmp) + r"[/\\]ipykernel_\d+[/\\]\d+\.py"), CELL))
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.environ.get("VIRTUAL_ENV", "")}
    prefixes |= {os.environ.get("CONDA_PREFIX", "")}
    found = sorted({v for p in prefixes if p for v in _variants(p)}, key=len, reverse=True)
    for prefix in found:
        rules.append((re.compile(re.escape(prefix) + _BOUNDARY), ENV))
    rules.append(
        (
            re.compile(
                r"(?<![\w\]~])(?:~|[A-Za-z]:)?[/\\][^\s'\"<>()\[\]]*?(?=[/\\]lib[/\\]python\d)"
            ),
            ENV,
        )
    )
    for home in _variants(str(Path.home())):
        rules.append((re.compile(re.escape(home) + _BOUNDARY), HOME))
    return tuple(rules)


def scrub_text(text: str) -> str:
    """``text`` with the builder's local paths replaced (see the module's table)."""
    for pattern, replacement in _rules():
        text = pattern.sub(replacement, text)
    return text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [scrub_text(v) for v in value]
    return value


def scrub_outputs(nb: Any) -> Any:
    """A copy of the notebook ``nb`` whose outputs quote no local path: stream texts,
    tracebacks and error values, and the text forms of rich outputs."""
    out = copy.deepcopy(nb)
    for cell in out.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                output["text"] = _scrub_value(output.get("text", ""))
            elif kind == "error":
                output["evalue"] = _scrub_value(output.get("evalue", ""))
                output["traceback"] = _scrub_value(output.get("traceback", []))
            data = output.get("data")
            if isinstance(data, dict):
                for mime in _TEXT_MIMES:
                    if mime in data:
                        data[mime] = _scrub_value(data[mime])
    return out
