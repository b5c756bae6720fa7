"""Shards over CI jobs: split the lessons into N parts, keep each part's results as
content-addressed files, merge the parts, and read them back to build without a kernel.

```
workshopkit run --shard K/N [--durations F] --results DIR   part K of N; results into DIR
workshopkit merge DIR... -o OUT                              union of the parts, one report
workshopkit build --from-results OUT                         export, no kernel started
```

**The assignment** (`assign`) is a pure function of what every runner has: the selected lessons
in the workshop's order, N, and the durations in `--durations F` (a `report.json` of an earlier
run or merge, committed or downloaded: never a runner's own cache, which differs between
runners). Lessons are dealt longest first into the part with the least work so far (ties: the
lower part, then the earlier lesson); a lesson with no recorded duration counts as the mean of
those recorded, so with no record at all the parts get equal counts (differing by at most one).
Durations are whole milliseconds, so the sums are exact on every machine. The inputs' digest
(`plan`) is kept in every part; `merge` refuses parts planned from different inputs.

**A results folder** (`run --results DIR`, and what `merge` writes):

```
shard.json                      format, workshop, shard {index, count} (null: not a part),
                                shards (merge: the parts it joined), selection (every lesson id
                                of the run, in order), plan, lessons {id: cache key}
cache/<lesson-id>/<key>/        one entry per lesson, as in `.workshopkit/cache/` (cache.py):
    result.json                 format, id, path, status, seconds, notebook_sha256, warnings,
                                and, for any status, cached, reason, error, key
    executed.ipynb              the executed notebook (absent for a lesson skipped, and for a
                                failed one that left none)
report.json                     the report (schema 1) with `shard` (a part) or `shards` (merged)
junit.xml                       JUnit XML of the same lessons
```

An entry is addressed by the lesson's cache key, which hashes everything its result depends on
(cache.py): `build --from-results` computes each lesson's key where it runs, so a result is used
only for the very lesson, files, parameters and kernel environment it was made with. Passed
entries are valid local cache entries too (`cp -r OUT/cache/* .workshopkit/cache/`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import ENTRY_FORMAT, _check_notebook
from .errors import ExitCode
from .model import ErrorKind, LessonError, LessonResult, Status

RESULTS_FORMAT = 1
MANIFEST = "shard.json"
ENTRIES = "cache"
RESULT = "result.json"
NOTEBOOK = "executed.ipynb"
REPORT = "report.json"
JUNIT = "junit.xml"
LESSON_ID = re.compile(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")  # validate.py's rule: no path in it
KEY = re.compile(r"\A[0-9a-f]{32}\Z")  # cache.lesson_key


class ShardError(Exception):
    """Input that `run --shard`, `merge` or `build --from-results` cannot use (exit 2)."""


# --------------------------------------------------------------------------------------------
# Which lessons a part runs


@dataclass(frozen=True, slots=True)
class ShardSpec:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def to_json(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def parse_shard(text: str) -> ShardSpec:
    """`K/N` with 1 <= K <= N; ValueError says what was expected."""
    parts = text.strip().split("/")
    expected = f"expected K/N with whole numbers 1 <= K <= N (as in 2/4), got {text!r}"
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(expected)
    index, count = int(parts[0]), int(parts[1])
    if not 1 <= index <= count:
        raise ValueError(expected)
    return ShardSpec(index, count)


def read_durations(path: Path) -> dict[str, int]:
    """Milliseconds per lesson id from a `report.json` (of a run, a build or a merge): lessons
    that passed or failed with a duration above zero (cached results carry the duration of the
    run that made them)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShardError(f"{path}: cannot read durations: {exc.strerror}") from None
    except ValueError as exc:
        raise ShardError(f"{path}: durations file is not JSON ({exc})") from None
    lessons = data.get("lessons") if isinstance(data, dict) else None
    if not isinstance(lessons, list):
        raise ShardError(
            f"{path}: expected a workshopkit report.json (with a 'lessons' list) for --durations"
        )
    found: dict[str, int] = {}
    for n, entry in enumerate(lessons):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ShardError(f"{path}: lessons[{n}] has no id")
        seconds = entry.get("seconds")
        if entry.get("status") not in ("passed", "failed"):
            continue
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
            continue
        found[entry["id"]] = max(1, round(seconds * 1000))
    return found


@dataclass(frozen=True, slots=True)
class Assignment:
    """The parts of one selection: lesson ids per part, each in the workshop's order."""

    parts: tuple[tuple[str, ...], ...]
    weights: Mapping[str, int]  # milliseconds each lesson counted for
    plan: str  # digest of the inputs (selection, weights, count)

    def load(self, part: int) -> int:
        return sum(self.weights[i] for i in self.parts[part])


def assign(ids: Sequence[str], durations: Mapping[str, int], count: int) -> Assignment:
    """Deal `ids` into `count` parts, longest first into the least loaded (module doc)."""
    known = [durations[i] for i in ids if durations.get(i, 0) > 0]
    default = sum(known) // len(known) if known else 1
    weights = {i: durations[i] if durations.get(i, 0) > 0 else max(default, 1) for i in ids}
    order = sorted(range(len(ids)), key=lambda n: (-weights[ids[n]], n))
    loads = [0] * count
    bins: list[list[int]] = [[] for _ in range(count)]
    for n in order:
        part = min(range(count), key=lambda b: (loads[b], b))
        bins[part].append(n)
        loads[part] += weights[ids[n]]
    parts = tuple(tuple(ids[n] for n in sorted(b)) for b in bins)
    digest = hashlib.sha256(
        json.dumps([list(ids), [weights[i] for i in ids], count]).encode()
    ).hexdigest()[:16]
    return Assignment(parts, weights, digest)


# --------------------------------------------------------------------------------------------
# Writing a results folder


def result_record(result: LessonResult, key: str, notebook_sha256: str | None) -> dict[str, Any]:
    """`result.json` of an entry: the cache's record (cache.py) plus what a failed or skipped
    result needs."""
    return {
        "format": ENTRY_FORMAT,
        "id": result.lesson_id,
        "path": result.path,
        "status": result.status.value,
        "seconds": result.seconds,
        "notebook_sha256": notebook_sha256,
        "warnings": list(result.warnings),
        "key": key,
        "cached": result.cached,
        "reason": result.reason,
        "error": result.error.to_json() if result.error else None,
    }


def write_entry(entries: Path, key: str, result: LessonResult) -> Path:
    """Write one lesson's entry under `entries` (`<id>/<key>/`); returns its folder."""
    folder = entries / result.lesson_id / key
    folder.mkdir(parents=True, exist_ok=True)
    digest: str | None = None
    if result.notebook is not None and result.notebook.is_file():
        shutil.copyfile(result.notebook, folder / NOTEBOOK)
        digest = hashlib.sha256((folder / NOTEBOOK).read_bytes()).hexdigest()
    elif result.status is Status.PASSED:
        raise OSError(f"{result.path}: the passed result has no executed notebook to keep")
    record = result_record(result, key, digest)
    (folder / RESULT).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return folder


@dataclass(frozen=True, slots=True)
class Written:
    folder: Path
    lessons: int


def write_results(
    dest: Path,
    *,
    workshop_title: str,
    shard: ShardSpec | None,
    selection: Sequence[str],
    plan: str,
    results: Sequence[LessonResult],
    keys: Mapping[str, str],
    report: Mapping[str, Any],
    junit: str,
) -> Written:
    """Write a results folder (module doc) in place of `dest`: built beside it, then renamed,
    so a reader never sees half of one. `dest` must be absent, empty or a results folder."""
    problem = destination_problem(dest)
    if problem:
        raise ShardError(problem)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        for result in results:
            write_entry(tmp / ENTRIES, keys[result.lesson_id], result)
        manifest = {
            "format": RESULTS_FORMAT,
            "workshop": workshop_title,
            "shard": shard.to_json() if shard else None,
            "selection": list(selection),
            "plan": plan,
            "lessons": {r.lesson_id: keys[r.lesson_id] for r in results},
        }
        _write_summaries(tmp, manifest, report, junit)
        _replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Written(dest, len(results))


def destination_problem(dest: Path) -> str | None:
    """Why a results folder must not be written at `dest`, or None."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        return f"{dest}: exists and is not a folder"
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MANIFEST).is_file():
        return (
            f"{dest}: not empty and not a workshopkit results folder (no {MANIFEST}); "
            "remove it or choose another folder"
        )
    return None


def _replace(tmp: Path, dest: Path) -> None:
    old: Path | None = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
        dest.rename(old)
    tmp.rename(dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Reading entries back


def read_entry(folder: Path, lesson_id: str, key: str) -> LessonResult:
    """The result kept in `folder`; ShardError naming the file if it is missing or corrupt."""
    record_path = folder / RESULT
    try:
        data = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"{record_path}: missing (the entry of lesson '{lesson_id}')") from None
    except OSError as exc:
        raise ShardError(f"{record_path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise ShardError(f"{record_path}: corrupt entry, not JSON ({exc})") from None
    try:
        if not isinstance(data, dict) or data.get("format") != ENTRY_FORMAT:
            raise ValueError(f"expected an entry of format {ENTRY_FORMAT}")
        if data.get("id") != lesson_id or data.get("key", key) != key:
            raise ValueError(f"it is the entry of {data.get('id')!r} under key {data.get('key')!r}")
        status = Status(data["status"])
        notebook: Path | None = folder / NOTEBOOK
        expected = data.get("notebook_sha256")
        if expected is None:
            if status is Status.PASSED:
                raise ValueError("a passed result without its executed notebook")
            notebook = None
        else:
            _check_kept_notebook(folder / NOTEBOOK, expected)
        error = data.get("error")
        result = LessonResult(
            lesson_id,
            str(data["path"]),
            status,
            float(data["seconds"]),
            _error(error) if error is not None else None,
            cached=bool(data.get("cached", False)),
            reason=str(data.get("reason", "")),
            notebook=notebook,
            warnings=tuple(str(w) for w in data.get("warnings", [])),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ShardError(f"{record_path}: corrupt entry ({exc})") from None
    return result


def _check_kept_notebook(notebook: Path, expected: Any) -> None:
    try:
        content = notebook.read_bytes()
    except FileNotFoundError:
        raise ShardError(f"{notebook}: missing (its result.json names it)") from None
    except OSError as exc:
        raise ShardError(f"{notebook}: cannot read: {exc.strerror}") from None
    if hashlib.sha256(content).hexdigest() != expected:
        raise ShardError(f"{notebook}: corrupt entry, does not match the checksum in {RESULT}")
    try:
        _check_notebook(content)
    except ValueError as exc:
        raise ShardError(f"{notebook}: corrupt entry ({exc})") from None


def _error(data: Any) -> LessonError:
    if not isinstance(data, dict):
        raise TypeError("error is not an object")
    cell = data.get("cell")
    return LessonError(
        str(data["path"]),
        int(data["line"]),
        None if cell is None else int(cell),
        str(data["ename"]),
        str(data["evalue"]),
        str(data.get("traceback", "")),
        ErrorKind(data.get("kind", "error")),
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        what = "no such folder" if not folder.is_dir() else f"no {MANIFEST}"
        raise ShardError(
            f"{path}: {what}; expected the folder `workshopkit run --results` wrote"
        ) from None
    except OSError as exc:
        raise ShardError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise ShardError(f"{path}: corrupt, not JSON ({exc})") from None
    shard = data.get("shard") if isinstance(data, dict) else None
    ok = (
        isinstance(data, dict)
        and data.get("format") == RESULTS_FORMAT
        and (
            shard is None
            or (
                isinstance(shard, dict)
                and all(type(shard.get(k)) is int for k in ("index", "count"))
                and 1 <= shard["index"] <= shard["count"]
            )
        )
        and isinstance(data.get("selection"), list)
        and isinstance(data.get("lessons"), dict)
        and all(isinstance(i, str) and LESSON_ID.match(i) for i in data["selection"])
        and all(
            isinstance(k, str) and LESSON_ID.match(k) and isinstance(v, str) and KEY.match(v)
            for k, v in data["lessons"].items()
        )
    )
    if not ok:
        raise ShardError(
            f"{path}: corrupt or of another format (expected format {RESULTS_FORMAT} with "
            "'shard' null or {index, count}, 'selection', a list of lesson ids, and 'lessons', "
            "lesson id -> cache key)"
        )
    return dict(data)


# --------------------------------------------------------------------------------------------
# Merging parts


@dataclass(frozen=True, slots=True)
class Merged:
    """What `merge` gave: the report it wrote (None when it wrote nothing) and the problems."""

    report: Mapping[str, Any] | None
    problems: tuple[str, ...] = ()
    lessons: int = 0
    parts: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> ExitCode:
        if self.problems or self.report is None:
            return ExitCode.INVALID
        return ExitCode(int(self.report["exit_code"]))


@dataclass(frozen=True, slots=True)
class _Run:
    """The run every part must come from, as the first part's manifest says."""

    folder: Path  # the first part's folder
    manifest: Mapping[str, Any]
    selection: tuple[str, ...]  # every lesson id of the run, in order


_Entries = dict[str, tuple[Path, str]]  # lesson id -> (its entry folder, its cache key)


def merge(folders: Sequence[Path], out: Path) -> Merged:
    """Join the results folders `folders` into `out` (module doc). Every problem is found
    before anything is written: a folder that is not a part, parts of different runs, a lesson
    claimed twice or by none, a missing or corrupt entry. `out` is written only when there is
    none."""
    from .report import junit_xml

    manifests, problems = _read_manifests(folders, out)
    if not manifests:
        return Merged(None, tuple(problems))
    first_folder, first = next(iter(manifests.items()))
    run = _Run(first_folder, first, tuple(str(i) for i in first["selection"]))
    problems += _other_runs(manifests, run)
    problems += _part_problems(manifests)
    entries, claims = _claim_lessons(manifests, run.selection)
    problems += claims
    if not problems:
        problems.extend(
            f"lesson '{i}' has no result in any folder given ({', '.join(map(str, folders))})"
            for i in run.selection
            if i not in entries
        )
    results, unreadable = _read_results(entries)
    fragments, corrupt = _read_fragments(manifests)
    problems += unreadable + corrupt
    if problems:
        return Merged(None, tuple(problems))
    try:
        report = merged_report(fragments, run.selection)
    except (KeyError, TypeError, ValueError) as exc:
        return Merged(None, (f"a report fragment is corrupt ({exc!r})",))
    junit = junit_xml([results[i] for i in run.selection], float(report["seconds"]))
    manifest = _merged_manifest(manifests, run, entries)
    problem = destination_problem(out)
    if problem:
        return Merged(None, (problem,))
    _write_merged(out, entries, manifest, report, junit)
    names = tuple(str(f) for f in manifests)
    return Merged(report, (), len(run.selection), names)


def _read_manifests(
    folders: Sequence[Path], out: Path
) -> tuple[dict[Path, dict[str, Any]], list[str]]:
    """The manifest of each folder that has a valid one, and the problems: the others, and
    `out` being one of the folders."""
    problems: list[str] = []
    manifests: dict[Path, dict[str, Any]] = {}
    if any(out.resolve() == folder.resolve() for folder in folders):
        problems.append(f"{out}: the output is one of the folders to merge; choose another -o")
    for folder in folders:
        try:
            manifests[folder] = read_manifest(folder)
        except ShardError as exc:
            problems.append(str(exc))
    return manifests, problems


def _other_runs(manifests: Mapping[Path, Mapping[str, Any]], run: _Run) -> list[str]:
    """A problem for each part planned from other inputs than the first."""
    return [
        f"{folder / MANIFEST}: a part of another run than {run.folder / MANIFEST} "
        "(different lessons selected, durations or number of parts: every part must "
        "be run from the same commit with the same --shard N and --durations file)"
        for folder, manifest in manifests.items()
        if manifest["selection"] != list(run.selection)
        or manifest.get("plan") != run.manifest.get("plan")
    ]


def _part_problems(manifests: Mapping[Path, Mapping[str, Any]]) -> list[str]:
    """A problem for each part given twice, then for each part of a count not given."""
    problems: list[str] = []
    parts: dict[tuple[int, int], Path] = {}
    for folder, manifest in manifests.items():
        shard = manifest.get("shard")
        if isinstance(shard, dict):
            spec = (int(shard.get("index", 0)), int(shard.get("count", 0)))
            if spec in parts:
                problems.append(
                    f"{folder / MANIFEST}: part {spec[0]}/{spec[1]} given twice (also "
                    f"{parts[spec] / MANIFEST})"
                )
            parts[spec] = folder
    counts = {count for _, count in parts}
    for count in sorted(counts):
        for index in range(1, count + 1):
            if (index, count) not in parts:
                problems.append(f"part {index}/{count} is missing: no folder given holds it")
    return problems


def _claim_lessons(
    manifests: Mapping[Path, Mapping[str, Any]], selection: Sequence[str]
) -> tuple[_Entries, list[str]]:
    """The entry of each lesson of the run, from the part that holds it, and a problem for
    each lesson two parts hold or that is not in the run."""
    problems: list[str] = []
    claimed: dict[str, Path] = {}
    entries: _Entries = {}
    for folder, manifest in manifests.items():
        for lesson_id, key in manifest["lessons"].items():
            if lesson_id in claimed:
                problems.append(
                    f"{folder / MANIFEST}: lesson '{lesson_id}' is also in "
                    f"{claimed[lesson_id] / MANIFEST}: two parts ran it"
                )
                continue
            if lesson_id not in selection:
                problems.append(f"{folder / MANIFEST}: lesson '{lesson_id}' is not in the run")
                continue
            claimed[lesson_id] = folder
            entries[lesson_id] = (folder / ENTRIES / lesson_id / key, key)
    return entries, problems


def _read_results(entries: _Entries) -> tuple[dict[str, LessonResult], list[str]]:
    """The result kept in each entry, and a problem for each entry missing or corrupt."""
    results: dict[str, LessonResult] = {}
    problems: list[str] = []
    for lesson_id, (entry, key) in entries.items():
        try:
            results[lesson_id] = read_entry(entry, lesson_id, key)
        except ShardError as exc:
            problems.append(str(exc))
    return results, problems


def _read_fragments(
    manifests: Mapping[Path, Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each part's report, and a problem for each one missing, corrupt, or whose lessons are
    not those of its manifest."""
    fragments: list[dict[str, Any]] = []
    problems: list[str] = []
    for folder, manifest in manifests.items():
        try:
            fragment = json.loads((folder / REPORT).read_text(encoding="utf-8"))
            if not isinstance(fragment, dict) or not isinstance(fragment.get("lessons"), list):
                raise ValueError("not a workshopkit report")
            ids = [e.get("id") if isinstance(e, dict) else None for e in fragment["lessons"]]
            if sorted(map(str, ids)) != sorted(manifest["lessons"]):
                raise ValueError(f"its lessons are not those of {MANIFEST}")
            fragments.append(fragment)
        except (OSError, ValueError) as exc:
            problems.append(f"{folder / REPORT}: corrupt or missing report fragment ({exc})")
    return fragments, problems


def _merged_manifest(
    manifests: Mapping[Path, Mapping[str, Any]], run: _Run, entries: _Entries
) -> dict[str, Any]:
    """The manifest of the merged folder: no part itself, the parts it joined."""
    shards = [m["shard"] for m in manifests.values() if isinstance(m.get("shard"), dict)]
    return {
        "format": RESULTS_FORMAT,
        "workshop": run.manifest.get("workshop", ""),
        "shard": None,
        "shards": sorted(shards, key=lambda s: (s.get("count", 0), s.get("index", 0))),
        "selection": list(run.selection),
        "plan": run.manifest.get("plan", ""),
        "lessons": {i: entries[i][1] for i in run.selection},
    }


def _write_merged(
    out: Path,
    entries: _Entries,
    manifest: Mapping[str, Any],
    report: Mapping[str, Any],
    junit: str,
) -> None:
    """Write the merged folder beside `out`, then swap it in (nothing left behind on failure)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for lesson_id, (entry, key) in entries.items():
            shutil.copytree(entry, tmp / ENTRIES / lesson_id / key)
        _write_summaries(tmp, manifest, report, junit)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_summaries(
    folder: Path, manifest: Mapping[str, Any], report: Mapping[str, Any], junit: str
) -> None:
    """A results folder's manifest, report fragment and JUnit XML."""
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (folder / REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (folder / JUNIT).write_text(junit, encoding="utf-8")


def merged_report(
    fragments: Sequence[Mapping[str, Any]], selection: Sequence[str]
) -> dict[str, Any]:
    """One report (schema 1) from the parts' reports: lessons in the run's order, counts and
    exit code over all of them, kernels summed, `seconds` the longest part (they ran side by
    side), and `shards` listing each part."""
    by_id: dict[str, Any] = {}
    for fragment in fragments:
        for entry in fragment["lessons"]:
            by_id[entry["id"]] = entry
    lessons = [by_id[i] for i in selection if i in by_id]
    summary: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}
    for entry in lessons:
        summary[entry["status"]] = summary.get(entry["status"], 0) + 1
    exit_code = max(int(f.get("exit_code", 0)) for f in fragments)
    diagnostics: list[Any] = []
    for fragment in fragments:
        diagnostics.extend(d for d in fragment.get("diagnostics", []) if d not in diagnostics)
    rules: list[Any] = []
    for fragment in fragments:
        rules.extend(d for d in fragment.get("event_rules", []) if d not in rules)
    errors = [f["error"] for f in fragments if f.get("error")]
    base = dict(fragments[0])
    base.pop("shard", None)
    report: dict[str, Any] = {
        **base,
        "command": "run",
        "status": "passed" if exit_code == 0 else "failed" if exit_code == 1 else "error",
        "exit_code": exit_code,
        "seconds": max(float(f.get("seconds", 0.0)) for f in fragments),
        "kernels_started": sum(int(f.get("kernels_started", 0)) for f in fragments),
        "summary": summary,
        "error": errors[0] if errors else None,
        "event_rules": rules,
        "diagnostics": diagnostics,
        "lessons": lessons,
    }
    report["shards"] = [
        {
            **dict(f["shard"]),
            "seconds": f.get("seconds", 0.0),
            "kernels_started": f.get("kernels_started", 0),
            "exit_code": f.get("exit_code", 0),
        }
        for f in fragments
        if isinstance(f.get("shard"), dict)
    ]
    report["shards"].sort(key=lambda s: (s.get("count", 0), s.get("index", 0)))
    return report


# --------------------------------------------------------------------------------------------
# build --from-results


@dataclass(frozen=True, slots=True)
class Found:
    results: tuple[LessonResult, ...]
    problems: tuple[tuple[str, str], ...]  # (lesson path, message)


def results_for(folder: Path, plans: Sequence[Any], key_of: Any) -> Found:
    """The kept result of each plan's lesson, by its cache key computed here (`key_of(plan)`);
    a lesson without one, or with a corrupt one, is a problem naming the entry."""
    results: list[LessonResult] = []
    problems: list[tuple[str, str]] = []
    if not (folder / ENTRIES).is_dir():
        what = "no such folder" if not folder.is_dir() else f"no {ENTRIES}/ folder in it"
        message = (
            f"{folder}: {what}; expected the folder `workshopkit merge` (or run --results) wrote"
        )
        return Found((), (("", message),))
    for plan in plans:
        lesson = plan.lesson
        key = key_of(plan)
        entry = folder / ENTRIES / lesson.id / key
        if not entry.is_dir():
            others = sorted(p.name for p in (folder / ENTRIES / lesson.id).glob("*") if p.is_dir())
            if others:
                why = (
                    f"{folder / ENTRIES / lesson.id}/ holds a result for other inputs "
                    f"(key {', '.join(others)}, here {key}): the lesson, its files, the "
                    "parameters (-p), limits or the kernel's environment differ from the run "
                    "that made it"
                )
            else:
                why = f"no result for lesson '{lesson.id}' in {folder} (expected {entry}/)"
            problems.append((lesson.relpath, why))
            continue
        try:
            found = read_entry(entry, lesson.id, key)
        except ShardError as exc:
            problems.append((lesson.relpath, str(exc)))
            continue
        results.append(found)
    return Found(tuple(results), tuple(problems))
