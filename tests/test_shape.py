"""The shape of the code (issue 12): no function in src/ is longer than MAX_LINES lines unless a
`# long: <reason>` comment on its `def` line or the line above says why."""

from __future__ import annotations

import ast
import re

from cli_support import REPO

SOURCE = REPO / "src"
MAX_LINES = 60  # from the `def` line to the last line of the body, signature included
LONG_REASON = re.compile(r"#\s*long:\s*\S")

# (path, function) pairs let through without a reason; keep it empty: write the reason instead
ALLOWED: frozenset[tuple[str, str]] = frozenset()


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """(name, line of its `def`, length in lines) of each function (methods and nested ones
    too) longer than `limit` lines with no `# long:` reason beside its `def`."""
    lines = source.split("\n")
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        # The def line, the line above it, and the line above its first decorator.
        above = [node.lineno - 1, node.lineno - 2]
        if node.decorator_list:
            above.append(node.decorator_list[0].lineno - 2)
        explained = any(0 <= i < len(lines) and LONG_REASON.search(lines[i]) for i in above)
        if length > limit and not explained:
            found.append((node.name, node.lineno, length))
    return found


def test_no_function_in_src_is_long_without_a_reason() -> None:
    offenders = []
    scanned = 0
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        scanned += 1
        for name, line, length in long_functions(path.read_text(encoding="utf-8")):
            if (relative, name) not in ALLOWED:
                offenders.append(f"src/{relative}:{line}: {name} is {length} lines")
    assert scanned > 20, f"only {scanned} files under {SOURCE}"
    assert not offenders, (
        f"functions longer than {MAX_LINES} lines: split them into named steps, or write why "
        "they are long in a `# long: <reason>` comment on the def line or the line above:\n"
        + "\n".join(offenders)
    )


def _function(name: str, body_lines: int, comment: str = "", decorated: bool = False) -> str:
    head = [f"{comment}\n"] if comment else []
    if decorated:
        head.append("@staticmethod\n")
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return "".join(head) + f"def {name}() -> None:\n" + body


def test_the_check_counts_the_def_line_and_the_body() -> None:
    assert long_functions(_function("fits", MAX_LINES - 1)) == []
    assert long_functions(_function("over", MAX_LINES)) == [("over", 1, MAX_LINES + 1)]


def test_a_reason_beside_the_def_lets_a_long_function_be() -> None:
    for comment in ("# long: one table of cases, read top to bottom", "x = 1  # long: a table"):
        assert long_functions(_function("explained", 80, comment)) == []
    assert long_functions(_function("decorated", 80, "# long: cases", decorated=True)) == []
    on_def = _function("inline", 80).replace("None:\n", "None:  # long: a table\n", 1)
    assert long_functions(on_def) == []


def test_a_long_comment_without_a_reason_or_far_away_does_not_count() -> None:
    assert long_functions(_function("bare", 80, "# long:")) == [("bare", 2, 81)]
    far = "# long: a reason, but two lines up\n\n" + _function("far", 80)
    assert long_functions(far) == [("far", 3, 81)]


def test_nested_functions_and_methods_are_checked_too() -> None:
    nested = "class C:\n    def method(self) -> None:\n" + "".join(
        f"        y{i} = {i}\n" for i in range(70)
    )
    assert long_functions(nested) == [("method", 2, 71)]
