"""shard: `run --shard K/N`, `merge` and `build --from-results` (issue 15, shards over CI jobs).

The assignment is checked as a pure function (deterministic across processes, balanced, every
lesson once). The rest runs the real command line with real kernels on the scenario workshops
`tests/resources/shard_workshop/` (two tracks, a data file, an exercise, a GPU lesson skipped
here) and `tests/resources/shard_failing/`: a merged build must equal a build on one machine
(every zip byte for byte, the report apart from timings), and every way a set of parts can be
wrong (missing, twice, overlapping, corrupt, of another run) is an exit-2 error naming the file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cli_support import invoke
from helpers import RESOURCES, WORKSHOPKIT

from workshopkit import report
from workshopkit.shard import (
    ShardError,
    assign,
    parse_shard,
    read_durations,
)
from workshopkit.starters import new_workshop

SCENARIO = RESOURCES / "shard_workshop"
FAILING = RESOURCES / "shard_failing"
# what differs with where and how kernels ran: a build from results starts none
TIMING = {"seconds", "kernels_started", "kernel_start"}


def cli(*args: str | Path, cwd: Path | None = None, github: bool = False) -> Any:
    """`workshopkit ARGS` in a process of its own, as CI runs it."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"GITHUB_ACTIONS", "PYTEST_XDIST_WORKER"}
    }
    env["NO_COLOR"] = "1"
    if github:
        env["GITHUB_ACTIONS"] = "true"
    return subprocess.run(
        [*WORKSHOPKIT, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def copy(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".workshopkit", "dist"))
    return dest


def validate(data: Any) -> None:
    schema = json.loads(report.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)


def without_timings(data: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in data.items() if k not in TIMING}
    kept["lessons"] = [{k: v for k, v in e.items() if k != "seconds"} for e in data["lessons"]]
    return kept


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --------------------------------------------------------------------------------------------
# K/N and the assignment (no kernel)


@pytest.mark.parametrize(("text", "spec"), [("1/1", (1, 1)), ("2/3", (2, 3)), ("16/16", (16, 16))])
def test_shard_values_are_k_of_n(text: str, spec: tuple[int, int]) -> None:
    parsed = parse_shard(text)
    assert (parsed.index, parsed.count) == spec and str(parsed) == text


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "1/0", "-1/2", "1/2/3", "a/b", "1/", "½/2"])
def test_bad_shard_values_are_usage_errors_naming_the_option(text: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected K/N"):
        parse_shard(text)
    root = copy(SCENARIO, tmp_path / "ws")
    result = invoke(["run", str(root), "--shard", text])
    assert result.exit_code == 2
    assert "--shard" in result.stderr and "expected K/N" in result.stderr
    assert not (root / ".workshopkit").exists()  # nothing ran


def test_durations_without_shard_is_a_usage_error(tmp_path: Path) -> None:
    durations = tmp_path / "d.json"
    durations.write_text('{"lessons": []}', encoding="utf-8")
    result = invoke(["run", str(copy(SCENARIO, tmp_path / "ws")), "--durations", str(durations)])
    assert result.exit_code == 2 and "--durations" in result.stderr


def test_without_durations_the_parts_get_equal_counts() -> None:
    ids = [f"l{n}" for n in range(11)]
    for count in (1, 2, 3, 4, 11, 12):
        parts = assign(ids, {}, count).parts
        assert sorted(i for part in parts for i in part) == sorted(ids)  # each lesson once
        sizes = [len(part) for part in parts]
        assert max(sizes) - min(sizes) <= 1, (count, sizes)
        for part in parts:  # each part in the workshop's order
            assert list(part) == [i for i in ids if i in part]


def test_durations_balance_the_parts_longest_first() -> None:
    ids = ["a", "b", "c", "d", "e", "f"]
    durations = {"a": 1000, "b": 9000, "c": 1000, "d": 8000, "e": 6000, "f": 5000}
    got = assign(ids, durations, 2)
    # longest first into the least loaded: b (9) | d (8), e -> d (14), f -> b (14),
    # a -> b (15, the lower part on a tie), c -> d (15)
    assert got.parts == (("a", "b", "f"), ("c", "d", "e"))
    assert [got.load(0), got.load(1)] == [15000, 15000]


def test_a_lesson_without_a_record_counts_as_the_mean() -> None:
    got = assign(["a", "b", "new"], {"a": 3000, "b": 1000}, 2)
    assert got.weights["new"] == 2000
    assert got.parts == (("a",), ("b", "new"))


def test_the_plan_digest_changes_with_its_inputs() -> None:
    ids = ["a", "b", "c"]
    plans = {
        assign(ids, {}, 2).plan,
        assign(ids, {}, 3).plan,
        assign(ids, {"a": 5000}, 2).plan,
        assign(["a", "c", "b"], {}, 2).plan,
    }
    assert len(plans) == 4
    assert assign(ids, {}, 2).plan == assign(list(ids), {}, 2).plan


def test_every_runner_computes_the_same_parts() -> None:
    """The assignment of 1,000 lessons with odd durations, in processes with different hash
    seeds (set and dict order), is the same everywhere."""
    code = (
        "import json, random; from workshopkit.shard import assign\n"
        "rng = random.Random(7)\n"
        "ids = [f'lesson-{n:04}' for n in range(1000)]\n"
        "d = {i: rng.randint(1, 90_000) for i in ids if rng.random() < 0.8}\n"
        "got = assign(ids, d, 16)\n"
        "print(json.dumps([got.parts, got.plan]))\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    parts, _ = json.loads(outputs.pop())
    assert sum(len(p) for p in parts) == 1000


def test_durations_are_read_from_a_report(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    lessons = [
        {"id": "a", "status": "passed", "seconds": 1.5},
        {"id": "b", "status": "failed", "seconds": 0.25},
        {"id": "c", "status": "skipped", "seconds": 0.0},
        {"id": "d", "status": "passed", "seconds": 0.0},
        {"id": "e", "status": "not-run", "seconds": 3.0},
    ]
    path.write_text(json.dumps({"schema": 1, "lessons": lessons}), encoding="utf-8")
    assert read_durations(path) == {"a": 1500, "b": 250}


@pytest.mark.parametrize(
    ("content", "expected"),
    [("{", "not JSON"), ('{"x": 1}', "'lessons' list"), ('{"lessons": [{}]}', "lessons[0]")],
)
def test_a_bad_durations_file_is_named(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "durations.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ShardError, match=re.escape(expected)) as caught:
        read_durations(path)
    assert str(path) in str(caught.value)
    result = invoke(["run", str(copy(SCENARIO, tmp_path / "ws")), "--shard", "1/2",
                     "--durations", str(path)])  # fmt: skip
    assert result.exit_code == 2 and str(path) in result.stderr + result.stdout


def test_results_inside_a_lesson_folder_are_refused(tmp_path: Path) -> None:
    root = copy(SCENARIO, tmp_path / "ws")
    inside = root / "lessons" / "02-data" / "results"
    result = invoke(["run", str(root), "--shard", "1/2", "--results", str(inside)])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "inside the folder of lesson" in result.stdout + result.stderr
    assert not inside.exists()


def test_results_over_a_foreign_folder_are_refused(tmp_path: Path) -> None:
    root = copy(SCENARIO, tmp_path / "ws")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    result = invoke(["run", str(root), "--shard", "1/2", "--results", str(foreign)])
    assert result.exit_code == 2 and "not a workshopkit results folder" in result.stderr
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"


# --------------------------------------------------------------------------------------------
# The starter workflow's matrix variant


def workflow(tmp_path: Path, shards: int | None) -> dict[Any, Any]:
    folder = tmp_path / f"ws-{shards}"
    new_workshop(folder, "Sharded", shards=shards)
    text = (folder / ".github/workflows/workshop.yml").read_text(encoding="utf-8")
    assert "__" not in text  # every placeholder filled
    data: dict[Any, Any] = yaml.safe_load(text)
    return data


def test_new_workshop_shards_writes_a_matrix_workflow(tmp_path: Path) -> None:
    data = workflow(tmp_path, 3)
    jobs = data["jobs"]
    assert set(jobs) == {"shard", "build", "deploy"}
    shard = jobs["shard"]
    assert shard["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert shard["strategy"]["fail-fast"] is False
    runs = " ".join(step.get("run", "") for step in shard["steps"])
    assert "workshopkit run $RUN_FLAGS --shard ${{ matrix.shard }}/3" in runs
    assert "--results ${{ runner.temp }}/results" in runs  # outside every lesson's folder
    assert "--durations durations.json" in runs
    upload = next(s for s in shard["steps"] if s.get("uses", "").startswith("actions/upload-"))
    assert upload["with"]["path"] == "${{ runner.temp }}/results"
    assert upload["with"]["name"] == "results-${{ matrix.shard }}"
    assert upload["if"] == "${{ !cancelled() }}"  # a failing part still hands in its results
    build = jobs["build"]
    assert build["needs"] == "shard"
    download = next(s for s in build["steps"] if "download-artifact" in s.get("uses", ""))
    assert download["with"]["pattern"] == "results-*"
    commands = [step.get("run", "") for step in build["steps"]]
    temp = "${{ runner.temp }}"
    assert f"workshopkit merge {temp}/parts/results-* -o {temp}/merged" in commands
    assert f"workshopkit build . -o dist $RUN_FLAGS --from-results {temp}/merged" in commands
    assert any(
        s.get("uses", "").startswith("actions/upload-pages-artifact") for s in build["steps"]
    )
    assert jobs["deploy"]["needs"] == "build"
    assert "--strict" in data["env"]["RUN_FLAGS"]  # shards and build share the flags (the key)
    assert data[True] == {"pull_request": None, "push": {"branches": ["main"]}}  # `on:` (YAML 1.1)


def test_new_workshop_without_shards_keeps_the_one_job_workflow(tmp_path: Path) -> None:
    data = workflow(tmp_path, None)
    assert set(data["jobs"]) == {"build", "deploy"}
    assert "--shard" not in json.dumps(data)


@pytest.mark.parametrize("value", ["1", "0", "x"])
def test_new_workshop_refuses_fewer_than_two_shards(tmp_path: Path, value: str) -> None:
    result = invoke(["new", "workshop", str(tmp_path / "ws"), "--shards", value])
    assert result.exit_code == 2 and "--shards" in result.stderr
    assert not (tmp_path / "ws").exists()


# --------------------------------------------------------------------------------------------
# Real kernels: two parts, merged, built from the results, against a build on one machine


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A build on one machine, and the same workshop (a fresh copy, as on a fresh runner) run
    as two parts, merged, and built from the results."""
    base = tmp_path_factory.mktemp("sharded")
    single = copy(SCENARIO, base / "single")
    done = cli("build", single, "-o", base / "dist-single")
    assert done.returncode == 0, done.stdout + done.stderr
    parts = copy(SCENARIO, base / "parts")
    for k in (1, 2):
        done = cli("run", parts, "--shard", f"{k}/2", "--results", base / f"part-{k}")
        assert done.returncode == 0, done.stdout + done.stderr
    done = cli("merge", base / "part-1", base / "part-2", "-o", base / "merged")
    assert done.returncode == 0, done.stdout + done.stderr
    done = cli("build", parts, "-o", base / "dist-merged", "--from-results", base / "merged")
    assert done.returncode == 0, done.stdout + done.stderr
    yield {
        "base": base,
        "parts": parts,
        "part-1": base / "part-1",
        "part-2": base / "part-2",
        "merged": base / "merged",
        "single": base / "dist-single",
        "dist": base / "dist-merged",
    }


@pytest.mark.kernel
@pytest.mark.slow
def test_a_merged_build_equals_a_build_on_one_machine(sharded: dict[str, Path]) -> None:
    single, merged = files_of(sharded["single"]), files_of(sharded["dist"])
    zips = [name for name in single if name.endswith(".zip")]
    assert sorted(zips) == ["basics.zip", "more.zip"]
    for name in zips:
        assert merged[name] == single[name], name  # byte for byte
    mine = {n: b for n, b in merged.items() if n != "report.json"}
    assert mine == {n: b for n, b in single.items() if n != "report.json"}  # every other file
    one = json.loads(single["report.json"])
    both = json.loads(merged["report.json"])
    validate(both)
    assert without_timings(both) == without_timings(one)
    assert both["kernels_started"] == 0 and one["kernels_started"] == 3
    statuses = {e["id"]: e["status"] for e in both["lessons"]}
    assert statuses == {"intro": "passed", "data": "passed", "exercise": "passed",
                        "gpu-only": "skipped"}  # fmt: skip


@pytest.mark.kernel
@pytest.mark.slow
def test_each_part_writes_entries_a_fragment_and_junit(sharded: dict[str, Path]) -> None:
    claimed: list[str] = []
    for k in (1, 2):
        folder = sharded[f"part-{k}"]
        manifest = json.loads((folder / "shard.json").read_text(encoding="utf-8"))
        assert manifest["shard"] == {"index": k, "count": 2}
        assert manifest["selection"] == ["intro", "data", "exercise", "gpu-only"]
        fragment = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        validate(fragment)
        assert fragment["shard"]["lessons"] == list(manifest["lessons"])
        assert [e["id"] for e in fragment["lessons"]] == list(manifest["lessons"])
        for lesson_id, key in manifest["lessons"].items():
            entry = folder / "cache" / lesson_id / key
            record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
            assert record["id"] == lesson_id and record["key"] == key
            if record["status"] == "passed":
                assert (entry / "executed.ipynb").is_file()
        junit = (folder / "junit.xml").read_text(encoding="utf-8")
        assert all(f'name="{i}"' in junit for i in manifest["lessons"])
        claimed += manifest["lessons"]
    assert sorted(claimed) == ["data", "exercise", "gpu-only", "intro"]  # once each
    merged = json.loads((sharded["merged"] / "report.json").read_text(encoding="utf-8"))
    validate(merged)
    assert [s["index"] for s in merged["shards"]] == [1, 2]
    assert merged["kernels_started"] == 3  # the GPU lesson started none
    assert [e["id"] for e in merged["lessons"]] == ["intro", "data", "exercise", "gpu-only"]


@pytest.mark.kernel
@pytest.mark.slow
def test_passed_entries_are_local_cache_entries(sharded: dict[str, Path], tmp_path: Path) -> None:
    """Copied into a fresh checkout's cache, the merged entries make `run` start no kernel."""
    root = copy(SCENARIO, tmp_path / "ws")
    shutil.copytree(sharded["merged"] / "cache", root / ".workshopkit" / "cache")
    done = cli("run", root)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((root / ".workshopkit" / "report.json").read_text(encoding="utf-8"))
    assert data["kernels_started"] == 0


@pytest.mark.kernel
@pytest.mark.slow
def test_durations_from_a_report_decide_the_parts(sharded: dict[str, Path], tmp_path: Path) -> None:
    """With the merged report as --durations, the parts follow the recorded seconds; every
    runner computes the same parts (a second, separate run of part 1 agrees)."""
    durations = sharded["merged"] / "report.json"
    recorded = read_durations(durations)
    ids = ["intro", "data", "exercise", "gpu-only"]
    expected = assign(ids, recorded, 2)
    root = copy(SCENARIO, tmp_path / "ws")
    done = cli("run", root, "--shard", "2/2", "--durations", durations, "--results",
               tmp_path / "p2", "--no-cache")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    fragment = json.loads((tmp_path / "p2" / "report.json").read_text(encoding="utf-8"))
    assert fragment["shard"]["lessons"] == list(expected.parts[1])
    assert fragment["shard"]["plan"] == expected.plan
    assert "recorded durations" in done.stdout + done.stderr


# --- what merge refuses ---------------------------------------------------------------------


def tamper(sharded: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    p1, p2 = tmp_path / "p1", tmp_path / "p2"
    shutil.copytree(sharded["part-1"], p1)
    shutil.copytree(sharded["part-2"], p2)
    return p1, p2


def refused(*args: Path, out: Path) -> str:
    result = invoke(["merge", *map(str, args), "-o", str(out)])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert not out.exists()  # nothing written
    return result.stderr


@pytest.mark.kernel
@pytest.mark.slow
def test_merge_refuses_a_missing_part(sharded: dict[str, Path], tmp_path: Path) -> None:
    p1, _ = tamper(sharded, tmp_path)
    message = refused(p1, out=tmp_path / "out")
    assert "part 2/2 is missing" in message


@pytest.mark.kernel
@pytest.mark.slow
def test_merge_refuses_a_part_given_twice(sharded: dict[str, Path], tmp_path: Path) -> None:
    p1, p2 = tamper(sharded, tmp_path)
    again = tmp_path / "again"
    shutil.copytree(p1, again)
    message = refused(p1, p2, again, out=tmp_path / "out")
    assert "part 1/2 given twice" in message and str(again / "shard.json") in message


@pytest.mark.kernel
@pytest.mark.slow
def test_merge_refuses_two_parts_claiming_a_lesson(
    sharded: dict[str, Path], tmp_path: Path
) -> None:
    p1, p2 = tamper(sharded, tmp_path)
    one = json.loads((p1 / "shard.json").read_text(encoding="utf-8"))
    two = json.loads((p2 / "shard.json").read_text(encoding="utf-8"))
    stolen, key = next(iter(one["lessons"].items()))
    two["lessons"][stolen] = key
    shutil.copytree(p1 / "cache" / stolen, p2 / "cache" / stolen)
    (p2 / "shard.json").write_text(json.dumps(two), encoding="utf-8")
    message = refused(p1, p2, out=tmp_path / "out")
    assert f"lesson '{stolen}' is also in" in message
    assert str(p2 / "shard.json") in message and str(p1 / "shard.json") in message


@pytest.mark.kernel
@pytest.mark.slow
def test_merge_refuses_a_lesson_no_part_ran(sharded: dict[str, Path], tmp_path: Path) -> None:
    p1, p2 = tamper(sharded, tmp_path)
    two = json.loads((p2 / "shard.json").read_text(encoding="utf-8"))
    dropped = next(iter(two["lessons"]))
    del two["lessons"][dropped]
    (p2 / "shard.json").write_text(json.dumps(two), encoding="utf-8")
    message = refused(p1, p2, out=tmp_path / "out")
    assert f"lesson '{dropped}' has no result" in message


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["notebook-bytes", "notebook-gone", "record-json", "record-id"])
def test_merge_refuses_a_corrupt_entry_naming_the_file(
    sharded: dict[str, Path], tmp_path: Path, damage: str
) -> None:
    p1, p2 = tamper(sharded, tmp_path)
    manifest = json.loads((p1 / "shard.json").read_text(encoding="utf-8"))
    lesson_id, key = next(
        (i, k)
        for i, k in manifest["lessons"].items()
        if (p1 / "cache" / i / k / "executed.ipynb").exists()
    )
    entry = p1 / "cache" / lesson_id / key
    if damage == "notebook-bytes":
        notebook = entry / "executed.ipynb"
        notebook.write_bytes(notebook.read_bytes().replace(b'"cells"', b'"cellz"'))
        named = notebook
    elif damage == "notebook-gone":
        (entry / "executed.ipynb").unlink()
        named = entry / "executed.ipynb"
    elif damage == "record-json":
        (entry / "result.json").write_text("{not json", encoding="utf-8")
        named = entry / "result.json"
    else:
        record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
        record["id"] = "someone-else"
        (entry / "result.json").write_text(json.dumps(record), encoding="utf-8")
        named = entry / "result.json"
    message = refused(p1, p2, out=tmp_path / "out")
    assert str(named) in message and ("corrupt" in message or "missing" in message)


@pytest.mark.kernel
@pytest.mark.slow
def test_merge_refuses_parts_of_different_runs(sharded: dict[str, Path], tmp_path: Path) -> None:
    p1, p2 = tamper(sharded, tmp_path)
    two = json.loads((p2 / "shard.json").read_text(encoding="utf-8"))
    two["plan"] = "0" * 16  # planned from other durations
    (p2 / "shard.json").write_text(json.dumps(two), encoding="utf-8")
    message = refused(p1, p2, out=tmp_path / "out")
    assert "a part of another run" in message and str(p2 / "shard.json") in message


def test_merge_refuses_a_folder_that_is_not_a_part(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    message = refused(tmp_path / "empty", tmp_path / "absent", out=tmp_path / "out")
    assert f"{tmp_path / 'empty' / 'shard.json'}: no shard.json" in message
    assert f"{tmp_path / 'absent' / 'shard.json'}: no such folder" in message


# --- what build --from-results refuses ------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.slow
def test_build_from_results_without_a_lessons_result_exits_2(
    sharded: dict[str, Path], tmp_path: Path
) -> None:
    merged = tmp_path / "merged"
    shutil.copytree(sharded["merged"], merged)
    shutil.rmtree(merged / "cache" / "data")
    root = copy(SCENARIO, tmp_path / "ws")
    done = cli("build", root, "-o", tmp_path / "dist", "--from-results", merged)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "lessons/02-data/data.py" in done.stderr + done.stdout
    assert f"no result for lesson 'data' in {merged}" in done.stderr + done.stdout
    assert not (tmp_path / "dist").exists()


@pytest.mark.kernel
@pytest.mark.slow
def test_build_from_results_of_other_inputs_exits_2(
    sharded: dict[str, Path], tmp_path: Path
) -> None:
    """Results are addressed by key: another parameter value, or an edited lesson, finds none."""
    root = copy(SCENARIO, tmp_path / "ws")
    done = cli("build", root, "-o", tmp_path / "dist", "--from-results", sharded["merged"],
               "-p", "quick=True")  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert out.count("holds a result for other inputs") == 4, out
    lesson = root / "lessons/01-intro/intro.py"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\n# %%\nprint(1)\n", encoding="utf-8")
    done = cli("build", root, "-o", tmp_path / "dist", "--from-results", sharded["merged"])
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert out.count("holds a result for other inputs") == 1, out
    assert "lessons/01-intro/intro.py: error: " in out
    assert not (tmp_path / "dist").exists()


def test_build_from_a_folder_that_is_not_results_exits_2(tmp_path: Path) -> None:
    root = copy(SCENARIO, tmp_path / "ws")
    done = invoke(["build", str(root), "-o", str(tmp_path / "dist"), "--from-results",
                   str(tmp_path / "nothing")])  # fmt: skip
    assert done.exit_code == 2, done.stdout + done.stderr
    assert f"{tmp_path / 'nothing'}: no such folder" in done.stdout + done.stderr


# --- a failing lesson keeps its failure -----------------------------------------------------


@pytest.mark.kernel
@pytest.mark.slow
def test_a_failing_lesson_keeps_its_failure_through_merge_and_build(tmp_path: Path) -> None:
    root = copy(FAILING, tmp_path / "ws")
    codes, annotations = {}, []
    for k in (1, 2):
        done = cli("run", root, "--shard", f"{k}/2", "--results", tmp_path / f"p{k}",
                   "--no-cache", github=True)  # fmt: skip
        fragment = json.loads((tmp_path / f"p{k}" / "report.json").read_text(encoding="utf-8"))
        codes[fragment["shard"]["lessons"][0]] = done.returncode
        annotations += [line for line in done.stdout.splitlines() if line.startswith("::error")]
    assert codes == {"broken": 1, "fine": 0}
    assert annotations == [  # from the part that ran it, on the line of the .py file
        "::error file=lessons/broken.py,line=15,title=lesson broken failed::"
        "ValueError: broken on purpose"
    ]
    merge = invoke(["merge", str(tmp_path / "p1"), str(tmp_path / "p2"), "-o",
                    str(tmp_path / "merged")])  # fmt: skip
    assert merge.exit_code == 1, merge.stdout + merge.stderr  # merged; a lesson failed
    merged = json.loads((tmp_path / "merged" / "report.json").read_text(encoding="utf-8"))
    validate(merged)
    broken = next(e for e in merged["lessons"] if e["id"] == "broken")
    assert (broken["status"], broken["error"]["line"]) == ("failed", 15)
    assert "broken on purpose" in (tmp_path / "merged" / "junit.xml").read_text(encoding="utf-8")
    done = cli("build", root, "-o", tmp_path / "dist", "--from-results", tmp_path / "merged",
               "--report", tmp_path / "build.json")  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert not (tmp_path / "dist").exists()
    built = json.loads((tmp_path / "build.json").read_text(encoding="utf-8"))
    validate(built)
    assert built["kernels_started"] == 0
    assert {e["id"]: e["status"] for e in built["lessons"]} == {
        "broken": "failed",
        "fine": "passed",
    }
    done = cli("build", root, "-o", tmp_path / "dist", "--from-results", tmp_path / "merged",
               "--keep-going")  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    kept = json.loads((tmp_path / "dist" / "report.json").read_text(encoding="utf-8"))
    assert kept["tracks"][0]["left_out"] == ["broken"]


def fake_part(folder: Path, lessons: dict[str, str], selection: list[str]) -> Path:
    folder.mkdir(parents=True)
    manifest = {"format": 1, "workshop": "W", "shard": {"index": 1, "count": 1},
                "selection": selection, "plan": "p", "lessons": lessons}  # fmt: skip
    (folder / "shard.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.mark.parametrize("lesson_id", ["../../etc", "a/b", "UPPER", ""])
def test_merge_refuses_a_manifest_naming_a_path(tmp_path: Path, lesson_id: str) -> None:
    """A lesson id or key is used as a folder name: one that is not an id is a corrupt part."""
    part = fake_part(tmp_path / "p", {lesson_id: "0" * 32}, [lesson_id])
    message = refused(part, out=tmp_path / "out")
    assert f"{part / 'shard.json'}: corrupt or of another format" in message


def test_merge_refuses_a_key_that_is_not_a_key(tmp_path: Path) -> None:
    part = fake_part(tmp_path / "p", {"a": "../../../x"}, ["a"])
    assert "corrupt or of another format" in refused(part, out=tmp_path / "out")


def test_merge_refuses_to_write_over_a_folder_it_merges(tmp_path: Path) -> None:
    part = fake_part(tmp_path / "p", {}, [])
    before = files_of(part)
    result = invoke(["merge", str(part), "-o", str(part)])
    assert result.exit_code == 2 and "is one of the folders to merge" in result.stderr
    assert files_of(part) == before


def test_build_from_results_inside_a_lesson_folder_exits_2(tmp_path: Path) -> None:
    root = copy(SCENARIO, tmp_path / "ws")
    inside = fake_part(root / "lessons" / "02-data" / "merged", {}, [])
    done = invoke(["build", str(root), "-o", str(tmp_path / "dist"), "--from-results",
                   str(inside)])  # fmt: skip
    assert done.exit_code == 2, done.stdout + done.stderr
    assert "inside the folder of lesson" in done.stdout + done.stderr
    assert not (tmp_path / "dist").exists()


def test_a_part_with_no_lesson_is_an_empty_part(tmp_path: Path) -> None:
    """More parts than lessons: the extra part runs nothing and still hands in its folder."""
    root = copy(FAILING, tmp_path / "ws")
    result = invoke(["run", str(root), "--shard", "3/3", "--results", str(tmp_path / "p3")])
    assert result.exit_code == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "p3" / "shard.json").read_text(encoding="utf-8"))
    assert manifest["lessons"] == {} and manifest["selection"] == ["broken", "fine"]
    fragment = json.loads((tmp_path / "p3" / "report.json").read_text(encoding="utf-8"))
    validate(fragment)
    assert fragment["shard"]["lessons"] == [] and fragment["kernels_started"] == 0


@pytest.mark.parametrize("shard", [{"index": "1", "count": 1}, {"index": 2, "count": 1}, [1, 1]])
def test_merge_refuses_a_manifest_with_a_bad_shard(tmp_path: Path, shard: Any) -> None:
    part = fake_part(tmp_path / "p", {}, [])
    manifest = json.loads((part / "shard.json").read_text(encoding="utf-8"))
    (part / "shard.json").write_text(json.dumps({**manifest, "shard": shard}), encoding="utf-8")
    assert "corrupt or of another format" in refused(part, out=tmp_path / "out")


def test_merge_refuses_a_fragment_that_disagrees_with_its_manifest(tmp_path: Path) -> None:
    part = fake_part(tmp_path / "p", {}, [])
    fragment = {"schema": 1, "lessons": [{"id": "intruder", "status": "passed"}]}
    (part / "report.json").write_text(json.dumps(fragment), encoding="utf-8")
    message = refused(part, out=tmp_path / "out")
    assert f"{part / 'report.json'}: corrupt or missing report fragment" in message
