"""The `check`, `list` and `new` commands: exit codes, output, GitHub annotations, and that they
never import the heavy notebook stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import REPO, TEMPLATES, invoke, scenario

from workshopkit import __version__

WORKSHOP = TEMPLATES / "workshop"
# dask and distributed: only `--executor dask` imports them (the `workshopkit[dask]` extra)
HEAVY = ("papermill", "nbconvert", "nbclient", "jupytext", "nbformat", "dask", "distributed")
# The starter workshop is valid; its placeholder text is a warning (an error under --strict).
WELCOME_PLACEHOLDERS = (
    "lessons/01-welcome/welcome.py:11: warning: 'objectives' are still the starter's examples; "
    "list what attendees will learn\n"
    "lessons/01-welcome/welcome.py:18: warning: cell 1 is the starter lesson's text, unchanged "
    "(and 8 more cells after it); replace it with your own\n"
)
STARTER_PLACEHOLDERS = (
    WELCOME_PLACEHOLDERS
    + "workshop.toml:2: warning: 'title' is still the starter's placeholder 'My workshop'; "
    "write your own\n"
    "workshop.toml:3: warning: 'description' is still the starter's placeholder 'What attendees "
    "will learn, in a sentence or two.'; write your own\n"
)


# -- check ---------------------------------------------------------------------------------------


def test_check_passes_on_the_starter_workshop() -> None:
    result = invoke(["check", WORKSHOP])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == STARTER_PLACEHOLDERS + "checked 1 lesson: 0 errors, 4 warnings\n"


def test_check_passes_on_the_synthetic_workload(synthetic_workshop: Path) -> None:
    result = invoke(["check", synthetic_workshop])
    assert result.exit_code == 0, result.stderr
    # the generated workload imports numpy with no requirements file: the one warning (issue 17)
    assert result.stderr.splitlines() == [
        "workshop.toml:1: warning: the lessons import numpy, but workshop.toml names no "
        "'requirements' file: attendees cannot know what to install (add requirements = "
        '"requirements.txt")',
        "checked 24 lessons: 0 errors, 1 warning",
    ]


def test_check_defaults_to_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(WORKSHOP / "lessons")
    result = invoke(["check"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.endswith("checked 1 lesson: 0 errors, 4 warnings\n")


def test_check_fails_with_exit_2_and_a_summary() -> None:
    result = invoke(["check", scenario("unknown_level")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "checked 2 lessons: 2 errors, 0 warnings"


def test_warnings_alone_do_not_fail_check(tmp_path: Path) -> None:
    lesson = (WORKSHOP / "lessons/01-welcome/welcome.py").read_text(encoding="utf-8")
    (tmp_path / "workshop.toml").write_text(
        'title = "T"\n[[tracks]]\nid = "none"\ntags = ["nothing"]\n', encoding="utf-8"
    )
    (tmp_path / "welcome.py").write_text(lesson, encoding="utf-8")
    result = invoke(["check", tmp_path])
    assert result.exit_code == 0
    assert result.stderr == (
        WELCOME_PLACEHOLDERS.replace("lessons/01-welcome/", "")
        + "workshop.toml:2: warning: track 'none' selects no lesson\n"
        "checked 1 lesson: 0 errors, 3 warnings\n"
    )


def test_github_actions_annotations() -> None:
    result = invoke(["check", scenario("unknown_level")], env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "::error file=lessons/expert.py,line=6::unknown level 'expert' "
        "(expected beginner, intermediate, advanced)",
        "::error file=lessons/typo.py,line=6::unknown level 'intermediat' "
        "(expected beginner, intermediate, advanced; did you mean 'intermediate'?)",
    ]


def test_github_annotations_escape_properties_and_messages() -> None:
    from workshopkit.report import github_annotation

    assert github_annotation("warning", "a,b:c.py", 3, "50% done\nnext") == (
        "::warning file=a%2Cb%3Ac.py,line=3::50%25 done%0Anext"
    )
    assert github_annotation("error", "workshop.toml", 0, "x") == "::error file=workshop.toml::x"


# -- list ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_list_synthetic_workload(synthetic_workshop: Path, golden, as_json: bool) -> None:
    result = invoke(["list", synthetic_workshop, *(["--json"] if as_json else [])])
    assert result.exit_code == 0, result.stderr
    golden.check(f"list/synthetic.{'json' if as_json else 'txt'}", result.stdout)
    if as_json:
        data = json.loads(result.stdout)
        assert [t["id"] for t in data["tracks"]] == ["track1", "track2", "track3"]
        for track in data["tracks"]:
            levels = [lesson["level"] for lesson in track["lessons"]]
            assert levels == sorted(levels, key=("beginner", "intermediate", "advanced").index)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_list_starter_workshop(golden, as_json: bool) -> None:
    result = invoke(["list", WORKSHOP, *(["--json"] if as_json else [])])
    assert result.exit_code == 0, result.stderr
    golden.check(f"list/starter.{'json' if as_json else 'txt'}", result.stdout)


def test_list_refuses_an_invalid_workshop() -> None:
    result = invoke(["list", scenario("requires_cycle"), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "prerequisites form a cycle" in result.stderr


# -- new -----------------------------------------------------------------------------------------


def test_new_workshop_then_check(tmp_path: Path) -> None:
    target = tmp_path / "meetup"
    result = invoke(["new", "workshop", target, "--title", "Spring meetup"])
    assert result.exit_code == 0, result.stderr
    assert f"wrote {target / 'workshop.toml'}" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == f"next: workshopkit check {target}"
    checked = invoke(["check", target])
    placeholders = STARTER_PLACEHOLDERS.replace(
        "workshop.toml:2: warning: 'title' is still the starter's placeholder 'My workshop'; "
        "write your own\n",
        "",
    )
    assert (checked.exit_code, checked.stderr) == (
        0,
        placeholders + "checked 1 lesson: 0 errors, 3 warnings\n",
    )
    again = invoke(["new", "workshop", target])
    assert again.exit_code == 2
    assert again.stderr == f"error: {target}: folder is not empty; not overwriting anything\n"


def test_new_lesson_then_check(tmp_path: Path) -> None:
    target = tmp_path / "meetup"
    assert invoke(["new", "workshop", target]).exit_code == 0
    folder = target / "lessons" / "02-arrays"
    result = invoke(["new", "lesson", folder, "-t", "Arrays and plots", "-l", "intermediate"])
    assert result.exit_code == 0, result.stderr
    path = folder / "arrays-and-plots.py"
    assert result.stdout == f"wrote {path}; next: workshopkit check {folder}\n"
    checked = invoke(["check", target])
    assert checked.exit_code == 0
    new_lesson = "lessons/02-arrays/arrays-and-plots.py"
    assert checked.stderr == (
        WELCOME_PLACEHOLDERS
        + WELCOME_PLACEHOLDERS.replace("lessons/01-welcome/welcome.py", new_lesson)
        + STARTER_PLACEHOLDERS.split("\n", 2)[2]
        + "checked 2 lessons: 0 errors, 6 warnings\n"
    )
    listed = json.loads(invoke(["list", target, "--json"]).stdout)
    assert [x["id"] for x in listed["tracks"][0]["lessons"]] == ["welcome", "arrays-and-plots"]
    before = path.read_bytes()
    again = invoke(["new", "lesson", path, "-t", "Other"])
    assert again.exit_code == 2
    assert again.stderr == f"error: {path}: already exists; not overwriting it\n"
    assert path.read_bytes() == before


def test_new_lesson_usage_errors(tmp_path: Path) -> None:
    missing_title = invoke(["new", "lesson", tmp_path])
    assert missing_title.exit_code == 2
    assert "Missing option '--title'" in missing_title.stderr
    bad_level = invoke(["new", "lesson", tmp_path, "-t", "T", "-l", "expert"])
    assert bad_level.exit_code == 2
    assert "'expert' is not one of 'beginner', 'intermediate', 'advanced'" in bad_level.stderr
    bad_id = invoke(["new", "lesson", tmp_path, "-t", "T", "--id", "Bad"])
    assert bad_id.exit_code == 2
    assert bad_id.stderr.startswith("error: lesson id 'Bad' must match")
    assert list(tmp_path.iterdir()) == []


# -- help and version ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--help"], ["-h"], ["check", "--help"], ["list", "--help"], ["new", "--help"],
     ["new", "lesson", "--help"], ["new", "workshop", "--help"]],
)  # fmt: skip
def test_help(args: list[str]) -> None:
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Usage: ")


def test_no_command_prints_the_usage() -> None:
    result = invoke([])
    assert result.exit_code in (0, 2)  # click 8.2 made it a usage error
    assert "Usage: " in result.stdout + result.stderr


def test_top_level_help_lists_commands_and_exit_codes() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    for word in ("check", "list", "new", "Exit codes", "130 interrupted"):
        assert word in result.stdout


def test_version() -> None:
    result = invoke(["--version"])
    assert (result.exit_code, result.stdout) == (0, f"workshopkit, version {__version__}\n")


def test_unknown_command_is_a_usage_error() -> None:
    result = invoke(["chekc"])
    assert result.exit_code == 2
    assert "No such command 'chekc'" in result.stderr


# -- the cheap commands stay cheap ---------------------------------------------------------------


def imported_modules(*args: str | Path) -> set[str]:
    """Top-level modules imported by `python -X importtime -m workshopkit ARGS`."""
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "workshopkit", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name.split(".")[0])
    assert "workshopkit" in modules and "click" in modules  # the parse worked
    return modules


@pytest.mark.parametrize(
    "args",
    [
        ("check", WORKSHOP),
        ("list", WORKSHOP, "--json"),
        ("--help",),
        ("new", "--help"),
        ("import", "--help"),
        ("run", "--help"),
    ],
    ids=["check", "list", "help", "new-help", "import-help", "run-help"],
)
def test_cheap_commands_do_not_import_the_notebook_stack(args: tuple[str | Path, ...]) -> None:
    assert sorted(imported_modules(*args) & set(HEAVY)) == []


def test_shell_completion_script_is_produced() -> None:
    """README: `eval "$(_WORKSHOPKIT_COMPLETE=bash_source workshopkit)"` (issue 17)."""
    for shell in ("bash", "zsh", "fish"):
        env = {**os.environ, "_WORKSHOPKIT_COMPLETE": f"{shell}_source"}
        result = subprocess.run(
            [sys.executable, "-m", "workshopkit"], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert "_WORKSHOPKIT_COMPLETE" in result.stdout, shell
    env = {**os.environ, "_WORKSHOPKIT_COMPLETE": "bash_complete", "COMP_WORDS": "workshopkit bu"}
    env["COMP_CWORD"] = "1"
    done = subprocess.run([sys.executable, "-m", "workshopkit"], env=env, capture_output=True)
    assert b"build" in done.stdout
