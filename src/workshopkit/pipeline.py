"""The whole product, stage by stage: what every command runs, in order.

```
workshopkit check, list   CHECK = (check,)
workshopkit run           RUN   = (validate, execute, judge_events, write_reports)
workshopkit build         BUILD = (validate, claim_output, fetch_wheels, execute,
                                   judge_events, export, swap, write_reports)
run --shard K/N          RUN_SHARD = (validate, select_shard, execute, write_results,
                                       write_reports)
build --from-results DIR  BUILD_FROM_RESULTS = BUILD with load_results in place of execute
pytest --lessons          open_workshop to collect, then `execute` for each item

check          discover -> load -> validate -> assemble, and the event programme rules; no kernel
validate       the same without the event rules (they never keep a lesson from running);
               any error stops the command here: exit 2, no kernel started
claim_output   build: check and lock the output folder, before any kernel starts (exit 2)
fetch_wheels   build --wheelhouse: wheels for the requirements and JupyterLab (no network: exit 3)
execute        run the selected lessons, cache first (`execute.run_lessons`); a fault inside a
               lesson is a result (exit 1), a missing kernel an error (exit 3)
select_shard   run --shard / --results: part K of N of the selected lessons (shard.py), and the
               results folder checked before any kernel starts (exit 2)
load_results   build --from-results: each lesson's kept result by its cache key; no kernel
               starts; a lesson without one is an error (exit 2)
write_results  run --shard / --results: the results folder (an entry per cache key, report
               fragment, JUnit XML) for `workshopkit merge`
judge_events   every rule of every event, together: the programme and each talk's executed deck
               (a broken rule: exit 1)
export         build: dist/ into a staging folder beside it, unless a lesson failed (--keep-going
               exports anyway) or lessons could not run; broken event rules do not stop it
swap           build: the staging folder replaces dist/ (two renames)
write_reports  report.json (one schema, see report.py) and JUnit XML
```

Each stage is a plain function `(Job, Outcome) -> Outcome`: the job is what the command asked for
(frozen), the outcome everything found and done so far; a stage returns a new outcome, with
`stopped` set when the command cannot go on, and `run_pipeline` skips the stages left. Expected
failures are values in the outcome, never exceptions. Progress goes through one callback,
`Job.on_event`: a `StageEvent` before and after each stage (carrying the outcome so far) and, in
`execute`, the executor's `RunEvent` for each lesson started and done. The terminal display
(progress.py), the pytest plugin and `serve` all subscribe to the same events.

`check` and `list` import no notebook library: the heavy modules are imported inside the stages
that use them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from .assemble import assemble_tracks, check_event_items
from .cache import state_problems
from .config import CONFIG_NAME, find_root, load_config
from .discover import discover
from .errors import ExitCode, InfrastructureError, WorkshopkitError
from .events import check_events, event_references
from .export.assets import check_assets
from .lessonfiles import listings_remembered
from .load import LessonSource, load_lesson
from .model import Diagnostic, Lesson, LessonResult, Severity, Status, Workshop
from .placeholders import placeholder_warnings
from .requirements import requirements_diagnostics
from .strict import promote
from .validate import check_declared_ids, check_lesson, check_requires, declared_id, slugify

if TYPE_CHECKING:
    from .execute import RunEvent, RunOptions, RunReport
    from .export import ExportResult
    from .report import ReportFacts
    from .shard import ShardSpec
    from .wheelhouse import Wheelhouse, WheelhouseSpec


# --------------------------------------------------------------------------------------------
# The values passed between stages


def _ignore(event: Event) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Job:
    """What a command asks for; no stage changes it."""

    path: Path = field(default_factory=Path)  # the workshop, or a folder or lesson inside it
    only: tuple[Path, ...] = ()  # run: the lessons and folders named (default: every lesson)
    options: RunOptions | None = None  # how to execute (None: as workshop.toml says)
    output: Path | None = None  # build: -o (default: dist/ in the workshop)
    keep_going: bool = False  # build: write dist/ even when lessons failed
    preview: bool = False  # serve: as keep_going, and a failed lesson keeps its previous files
    report: Path | None = None  # --report (run: .workshopkit/report.json by default)
    junit_xml: Path | None = None  # --junit-xml
    command: Literal["check", "run", "build"] = "run"
    on_event: OnEvent = _ignore
    strict: bool = False  # --strict on `check` (`run` and `build`: also `options.strict`)
    shard: ShardSpec | None = None  # run --shard K/N: this part of the selected lessons
    durations: Path | None = None  # run --durations: a report.json to balance the parts by
    results: Path | None = None  # run --results: write a results folder here (shard.py)
    from_results: Path | None = None  # build --from-results: results instead of kernels
    wheelhouse: WheelhouseSpec | None = None  # build --wheelhouse: wheels for offline installs
    # serve: changed zips and event decks follow later (a function: from when it says so)
    defer_slow: bool | Callable[[], bool] = False
    flushed: bool = True  # build: flush what export writes to disk (not serve's preview)

    @property
    def is_strict(self) -> bool:
        """--strict was given (`[execution] strict` is the workshop's, read once it is open)."""
        return self.strict or (self.options is not None and self.options.strict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything a command has found and done so far; every stage returns a new one."""

    workshop: Workshop | None = None  # None until opened, and when it is invalid
    selected: tuple[Lesson, ...] = ()  # the lessons to run
    lesson_count: int = 0  # lesson files found, valid or not
    skipped: tuple[Path, ...] = ()  # .py files that are not lessons (no workshopkit block)
    diagnostics: tuple[Diagnostic, ...] = ()  # from check and export: errors and warnings
    run: RunReport | None = None  # the executor's results
    rule_breaks: tuple[Diagnostic, ...] = ()  # event rules, judged after the lessons ran
    dist: Path | None = None  # build: the output folder
    epoch: int | None = None  # build: SOURCE_DATE_EPOCH
    staged: Path | None = None  # build: the export, not yet in place of `dist`
    export: ExportResult | None = None
    wheelhouse: Wheelhouse | None = None  # build --wheelhouse: the wheels to zip
    written: bool = False  # build: `dist` was replaced
    error: WorkshopkitError | None = None  # what stopped the command (no kernel, disk full)
    messages: tuple[str, ...] = ()  # lines for the user, in order
    timings: tuple[tuple[str, float], ...] = ()  # (stage, seconds), in the order they ran
    # run --shard / --results: every lesson of the run, in order, and the plan's digest
    selection: tuple[str, ...] = ()
    plan: str = ""
    stopped: bool = False  # set by a stage when the command cannot go on
    # what stages hold until the pipeline ends (the build's lock, its staging folder)
    held: contextlib.ExitStack = field(
        default_factory=contextlib.ExitStack, compare=False, repr=False
    )

    @property
    def results(self) -> tuple[LessonResult, ...]:
        return self.run.results if self.run is not None else ()

    @property
    def failed(self) -> int:
        """How many lessons failed."""
        return sum(1 for r in self.results if r.status is Status.FAILED)

    @property
    def seconds(self) -> float:
        """Wall time of executing the lessons."""
        return self.run.seconds if self.run is not None else 0.0

    @property
    def kernels_started(self) -> int:
        return self.run.kernels_started if self.run is not None else 0

    def stage_seconds(self, *stages: str) -> float:
        return sum(seconds for name, seconds in self.timings if name in stages)

    @property
    def exit_code(self) -> ExitCode:
        """DESIGN.md §6: the worst of what happened."""
        codes = [ExitCode.OK]
        if self.error is not None:
            codes.append(self.error.exit_code)
        if any(d.is_error for d in self.diagnostics):
            codes.append(ExitCode.INVALID)
        if self.run is not None:
            codes.append(self.run.exit_code)
        if any(d.is_error for d in self.rule_breaks):
            codes.append(ExitCode.LESSON_FAILED)
        return max(codes)


@dataclass(frozen=True, slots=True)
class StageEvent:
    """Sent before (`start`) and after (`done`) each stage, with the outcome so far."""

    stage: str
    kind: Literal["start", "done"]
    outcome: Outcome
    seconds: float = 0.0


if TYPE_CHECKING:
    Event: TypeAlias = RunEvent | StageEvent
    OnEvent: TypeAlias = Callable[[Event], None]

Stage: TypeAlias = Callable[[Job, Outcome], Outcome]


# --------------------------------------------------------------------------------------------
# The stages, in the order they run


def check(job: Job, outcome: Outcome) -> Outcome:
    """`workshopkit check`: every problem at once, event programme rules included (exit 2)."""
    return _opened(open_workshop(job.path, job.only, strict=job.is_strict), outcome)


def validate(job: Job, outcome: Outcome) -> Outcome:
    """As `check`, but the event rules wait until the lessons ran (`judge_events`)."""
    opened = open_workshop(job.path, job.only, event_rules=False, strict=job.is_strict)
    return _opened(opened, outcome)


def claim_output(job: Job, outcome: Outcome) -> Outcome:
    """Build: check and lock the output folder before any kernel starts (exit 2 if unusable)."""
    from .build import claim_output as claim

    claimed = claim(job.output, _workshop(outcome), outcome.held)
    if isinstance(claimed, str):
        return _failed(outcome, WorkshopkitError(claimed), stop=True)
    notes = (*outcome.messages, *claimed.notes)
    return replace(outcome, dist=claimed.output, epoch=claimed.source_date_epoch, messages=notes)


def fetch_wheels(job: Job, outcome: Outcome) -> Outcome:
    """Build --wheelhouse: download (or take from the cache) the wheels for the requirements and
    JupyterLab, before any kernel starts; pip failing (no network) stops the build (exit 3)."""
    if job.wheelhouse is None:
        return outcome
    from .wheelhouse import fetch_wheelhouse

    workshop = _workshop(outcome)
    name = workshop.config.requirements
    requirements = workshop.root / name if name else None
    try:
        wheels = fetch_wheelhouse(workshop.root, requirements, job.wheelhouse)
    except WorkshopkitError as error:
        return _failed(outcome, error, stop=True)
    how = "from the cache" if wheels.cached else f"in {wheels.seconds:.1f} s"
    note = f"wheelhouse: {len(wheels.wheels)} wheels for {wheels.describe()}, {how}"
    return replace(outcome, wheelhouse=wheels, messages=(*outcome.messages, note))


def execute(job: Job, outcome: Outcome) -> Outcome:
    """Run the selected lessons, cache first; a fault inside a lesson is a result, not an error."""
    from .execute import RunOptions, run_lessons

    options = job.options or RunOptions()
    try:
        report = run_lessons(_workshop(outcome), outcome.selected, options, job.on_event)
    except WorkshopkitError as error:  # before any lesson ran: no such kernel
        return _failed(outcome, error)
    started = report.kernel_start
    notes = tuple(
        f"warning: kernels started by exec instead of fork: {reason}"
        for reason in (started.fallbacks if started is not None else ())
    )
    return replace(outcome, run=report, messages=(*outcome.messages, *notes))


def select_shard(job: Job, outcome: Outcome) -> Outcome:
    """run --shard K/N: keep part K of the selected lessons (shard.py: balanced by the durations
    in --durations, identical on every runner); also checks the --results folder (exit 2)."""
    from .shard import ShardError, assign, read_durations

    workshop = _workshop(outcome)
    ids = [lesson.id for lesson in outcome.selected]
    try:
        if job.results is not None:
            problem = _results_problem(job.results, workshop)
            if problem:
                raise ShardError(problem)
        durations = read_durations(job.durations) if job.durations is not None else {}
    except ShardError as exc:
        return _failed(outcome, WorkshopkitError(str(exc)), stop=True)
    count = job.shard.count if job.shard is not None else 1
    assignment = assign(ids, durations, count)
    part = set(assignment.parts[job.shard.index - 1 if job.shard is not None else 0])
    selected = tuple(lesson for lesson in outcome.selected if lesson.id in part)
    messages = outcome.messages
    if job.shard is not None:
        load = assignment.load(job.shard.index - 1) / 1000
        known = sum(1 for i in ids if i in durations)
        note = (
            f"shard {job.shard}: {len(selected)} of {len(ids)} lessons "
            f"(~{load:.1f} s by {known} recorded durations)"
            if known
            else f"shard {job.shard}: {len(selected)} of {len(ids)} lessons (no durations: "
            "equal counts)"
        )
        messages = (*messages, note)
    return replace(
        outcome,
        selected=selected,
        selection=tuple(ids),
        plan=assignment.plan,
        messages=messages,
    )


def load_results(job: Job, outcome: Outcome) -> Outcome:
    """build --from-results: each selected lesson's result from the results folder, by the
    cache key computed here; no kernel starts. A lesson without a result there, or with a
    corrupt one, is an error (exit 2) naming the lesson and the entry."""
    from .cache import Cache
    from .execute import RunOptions, RunReport, plan_lessons
    from .shard import results_for

    assert job.from_results is not None
    began = time.monotonic()
    workshop = _workshop(outcome)
    problem = _results_problem(job.from_results, workshop, writing=False)
    if problem:
        return _failed(outcome, WorkshopkitError(problem), stop=True)
    options = job.options or RunOptions()
    try:
        plans = plan_lessons(workshop, outcome.selected, options)
    except WorkshopkitError as error:
        return _failed(outcome, error, stop=True)
    cache = Cache(workshop.root)
    found = results_for(job.from_results, plans, cache.key)
    if found.problems:
        problems = tuple(
            Diagnostic(path or str(job.from_results), 0, Severity.ERROR, message)
            for path, message in found.problems
        )
        diagnostics = tuple(sorted({*outcome.diagnostics, *problems}))
        return replace(outcome, diagnostics=diagnostics, stopped=True)
    results = found.results
    if job.is_strict or workshop.config.execution.strict:
        from .strict import strict_results

        results = strict_results(results)
    return replace(outcome, run=RunReport(results, 0, time.monotonic() - began))


def write_results(job: Job, outcome: Outcome) -> Outcome:
    """run --shard / --results: the results folder (shard.py): an entry per lesson by cache key,
    the manifest, the report fragment and JUnit XML. Written only when the lessons ran."""
    from .cache import Cache
    from .execute import RunOptions, plan_lessons
    from .report import junit_xml
    from .shard import ShardError
    from .shard import write_results as write

    if outcome.run is None:
        return outcome
    workshop = _workshop(outcome)
    target = job.results or _default_results(job, workshop.root)
    options = job.options or RunOptions()
    cache = Cache(workshop.root)
    ran = {r.lesson_id for r in outcome.results}
    plans = plan_lessons(workshop, [x for x in outcome.selected if x.id in ran], options)
    keys = {plan.lesson.id: cache.key(plan) for plan in plans}
    try:
        written = write(
            target,
            workshop_title=workshop.config.title,
            shard=job.shard,
            selection=outcome.selection,
            plan=outcome.plan,
            results=outcome.results,
            keys=keys,
            report=report_of(job, outcome),
            junit=junit_xml(outcome.results, outcome.seconds),
        )
    except ShardError as exc:
        return _failed(outcome, WorkshopkitError(str(exc)))
    except OSError as exc:
        return _failed(outcome, _os_error(exc, target))
    note = f"results of {written.lessons} lesson(s) in {written.folder}"
    return replace(outcome, messages=(*outcome.messages, note))


def judge_events(job: Job, outcome: Outcome) -> Outcome:
    """Every rule of every event, reported together after the lessons ran: the programme
    (minutes budget, content mix, lightning minutes) and what each talk's executed deck shows
    (lightning slide limits, code that runs and prints)."""
    workshop = _workshop(outcome)
    if not workshop.config.events:
        return outcome
    from .events import check_programmes
    from .export.events import check_decks

    found = [*check_programmes(workshop), *check_decks(workshop, outcome.results)]
    if job.is_strict or workshop.config.execution.strict:
        found = list(promote(found))
    return replace(outcome, rule_breaks=tuple(sorted(set(found))))


def export(job: Job, outcome: Outcome) -> Outcome:
    """Build: write dist/ into a staging folder beside the output, unless a lesson failed
    (--keep-going exports anyway: failed lessons are marked and left out of the bundles) or the
    lessons could not run. Broken event rules do not stop it: every lesson passed."""
    from .build import make_staging, remove_staging
    from .errors import ValidationFailed
    from .export import export_workshop

    refused = _not_exported(job, outcome)
    if refused:
        return replace(outcome, messages=(*outcome.messages, refused))
    output = _output(outcome)
    try:
        staged = make_staging(output)
        outcome.held.callback(remove_staging, staged)  # unless swapped, gone when the build ends
        facts = _report_facts(job, outcome)
        exported = export_workshop(
            _workshop(outcome),
            outcome.results,
            staged,
            source_date_epoch=outcome.epoch,
            facts=facts,
            wheelhouse=outcome.wheelhouse,
            previous=output,
            defer=job.defer_slow,
            flushed=job.flushed,
            keep_failed=job.preview,
        )
    except ValidationFailed as exc:
        found = tuple(sorted({*outcome.diagnostics, *exc.diagnostics}))
        return _failed(replace(outcome, diagnostics=found), exc, f"{output} left as it was")
    except WorkshopkitError as exc:  # ExportError: a file could not be written
        return _failed(outcome, exc, f"{output} left as it was")
    except OSError as exc:
        return _failed(outcome, _os_error(exc, output.parent), f"{output} left as it was")
    found = tuple(sorted({*outcome.diagnostics, *exported.diagnostics}))
    return replace(outcome, staged=staged, export=exported, diagnostics=found)


def swap(job: Job, outcome: Outcome) -> Outcome:
    """Build: the staging folder replaces dist/ in two renames; the previous dist/ is removed."""
    from .build import swap_into_place
    from .export import save_export_state

    if outcome.staged is None or outcome.export is None:
        return outcome
    output = _output(outcome)
    try:
        notes = swap_into_place(outcome.staged.parent, output)
    except OSError as exc:
        return _failed(outcome, _os_error(exc, output), f"{output} left as it was")
    exported = outcome.export
    save_export_state(exported, output)  # the next build takes what did not change from here
    left = len(exported.left_out) if outcome.failed else 0
    summary = (
        f"wrote {output} ({len(exported.exported)} lessons, {len(exported.bundles)} "
        f"bundle{'s' * (len(exported.bundles) != 1)}"
        + (f", {left} failed lesson(s) marked and left out" if left else "")
        + ")"
    )
    return replace(outcome, written=True, messages=(*outcome.messages, *notes, summary))


def write_reports(job: Job, outcome: Outcome) -> Outcome:
    """report.json and JUnit XML, once the lessons ran or could not start (so CI never reads an
    old success). `run` writes `.workshopkit/report.json` unless `--report` says where; `build`
    writes `dist/report.json` in `export`, and `--report` too."""
    from .report import junit_xml, write_json_atomic, write_text_atomic

    target = job.report
    if target is None and job.command == "run":
        target = _workshop(outcome).root / ".workshopkit" / "report.json"
    try:
        if target is not None:
            write_json_atomic(target, report_of(job, outcome))
        if job.junit_xml is not None and outcome.run is not None:
            write_text_atomic(job.junit_xml, junit_xml(outcome.results, outcome.seconds))
    except OSError as exc:
        return _failed(outcome, _os_error(exc, target or Path()))
    return outcome


# --------------------------------------------------------------------------------------------
# The commands: how far each one runs


CHECK: tuple[Stage, ...] = (check,)
RUN: tuple[Stage, ...] = (validate, execute, judge_events, write_reports)
# run --shard K/N or --results DIR: a part of the lessons, its results kept as files (the
# event rules wait for the merged build, which sees every lesson)
RUN_SHARD: tuple[Stage, ...] = (validate, select_shard, execute, write_results, write_reports)
RUN_RESULTS: tuple[Stage, ...] = (
    validate,
    select_shard,
    execute,
    judge_events,
    write_results,
    write_reports,
)
# RUN, with the output folder claimed before any kernel starts and dist/ replaced at the end
BUILD: tuple[Stage, ...] = (
    validate,
    claim_output,
    fetch_wheels,
    execute,
    judge_events,
    export,
    swap,
    write_reports,
)
# BUILD from a results folder (`merge` or `run --results`): no kernel starts
BUILD_FROM_RESULTS: tuple[Stage, ...] = (
    validate,
    claim_output,
    load_results,
    judge_events,
    export,
    swap,
    write_reports,
)


def run_pipeline(stages: Sequence[Stage], job: Job) -> Outcome:
    """Run `stages` in order, each on the outcome the previous one returned, until one stops.
    What a stage holds until the end (the build's lock, its staging folder) is released here,
    also on Ctrl-C or SIGTERM, which propagate."""
    outcome = Outcome()
    with outcome.held, listings_remembered():
        for stage in stages:
            if outcome.stopped:
                break
            job.on_event(StageEvent(stage.__name__, "start", outcome))
            started = time.monotonic()
            outcome = stage(job, outcome)
            seconds = time.monotonic() - started
            outcome = replace(outcome, timings=(*outcome.timings, (stage.__name__, seconds)))
            job.on_event(StageEvent(stage.__name__, "done", outcome, seconds))
    return outcome


def build(
    path: Path,
    out: Path | None = None,
    options: RunOptions | None = None,
    *,
    keep_going: bool = False,
    on_event: OnEvent | None = None,
) -> Outcome:
    """Build the workshop at or above `path` into `out` (default `<root>/dist`)."""
    job = Job(
        path,
        options=options,
        output=out,
        keep_going=keep_going,
        command="build",
        on_event=on_event or _ignore,
    )
    return run_pipeline(BUILD, job)


def report_of(job: Job, outcome: Outcome) -> dict[str, Any]:
    """The `report.json` of this outcome (report.py holds the schema): `run` lists the lessons
    that ran, `build` every lesson of the workshop (`not-run` when it has no result)."""
    from .export import bundle_json
    from .report import report_json

    results = {r.lesson_id: r for r in outcome.results}
    lessons = [
        lesson for lesson in outcome.selected if job.command == "build" or lesson.id in results
    ]
    exported = outcome.export if outcome.written else None
    if job.shard is not None:
        assigned = [lesson.id for lesson in outcome.selected]
        report = report_json(_workshop(outcome), lessons, results, _report_facts(job, outcome))
        report["shard"] = {**job.shard.to_json(), "lessons": assigned, "plan": outcome.plan}
        return report
    return report_json(
        _workshop(outcome),
        lessons,
        results,
        _report_facts(job, outcome),
        exported=exported.exported if exported else (),
        bundles={b.track_id: bundle_json(b) for b in exported.bundles} if exported else None,
    )


# --------------------------------------------------------------------------------------------
# Helpers of the stages


def _report_facts(job: Job, outcome: Outcome) -> ReportFacts:
    from .report import ReportFacts

    return ReportFacts(
        command=job.command,
        exit_code=int(outcome.exit_code),
        seconds=outcome.seconds,
        kernels_started=outcome.kernels_started,
        kernel_start=outcome.run.kernel_start if outcome.run is not None else None,
        error=outcome.error,
        event_rules=outcome.rule_breaks,
        diagnostics=outcome.diagnostics,
    )


def _results_problem(results: Path, workshop: Workshop, *, writing: bool = True) -> str | None:
    """Why `run --results` must not write `results` (or `build --from-results` read it), or
    None: a folder the lessons would see (their keys would change with it), or, to write, one
    that is not a results folder."""
    from .build import _is_within, _seen_by_lessons
    from .shard import destination_problem

    target = results.resolve()
    for lesson in sorted(lesson.path for lesson in workshop.lessons):
        folder = lesson.parent.resolve()
        if _is_within(target, folder) and _seen_by_lessons(target, folder):
            return (
                f"results folder {results} is inside the folder of lesson {lesson}: the "
                "lessons there would hash and ship it; choose a folder outside lesson folders"
            )
    return destination_problem(results) if writing else None


def _default_results(job: Job, root: Path) -> Path:
    name = f"shard-{job.shard.index}-of-{job.shard.count}" if job.shard else "results"
    return root / ".workshopkit" / name


def _workshop(outcome: Outcome) -> Workshop:
    if outcome.workshop is None:  # `check` and `validate` stop the pipeline without one
        raise AssertionError("a stage ran before the workshop was opened")
    return outcome.workshop


def _output(outcome: Outcome) -> Path:
    if outcome.dist is None:  # `claim_output` stops the pipeline without one
        raise AssertionError("a build stage ran before the output folder was claimed")
    return outcome.dist


def _failed(outcome: Outcome, error: WorkshopkitError, *lines: str, stop: bool = False) -> Outcome:
    messages = (*outcome.messages, f"error: {error}", *lines)
    return replace(outcome, error=error, messages=messages, stopped=outcome.stopped or stop)


def _os_error(exc: OSError, where: Path) -> InfrastructureError:
    import errno

    reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
    return InfrastructureError(f"{exc.filename or where}: {reason}")


def _not_exported(job: Job, outcome: Outcome) -> str | None:
    """Why `export` must leave the output as it was, or None."""
    output = _output(outcome)
    if outcome.run is None:
        return "nothing was written"
    if outcome.run.exit_code is ExitCode.INFRASTRUCTURE:
        return f"{output} left as it was: lessons could not be run"
    failed = outcome.failed
    if failed and not (job.keep_going or job.preview):
        return f"{output} left as it was: {failed} lesson(s) failed (--keep-going writes it anyway)"
    return None


def _opened(opened: Opened, outcome: Outcome) -> Outcome:
    return replace(
        outcome,
        workshop=opened.workshop,
        selected=opened.selected,
        lesson_count=opened.lesson_count,
        skipped=opened.skipped,
        diagnostics=opened.diagnostics,
        stopped=opened.workshop is None,
    )


# --------------------------------------------------------------------------------------------
# Opening a workshop: discover, load, validate, assemble (no kernel, no notebook library)


@dataclass(frozen=True, slots=True)
class Opened:
    """The result of the cheap stages: a workshop when it is valid, and every diagnostic."""

    workshop: Workshop | None
    diagnostics: tuple[Diagnostic, ...] = ()
    selected: tuple[Lesson, ...] = ()  # the lessons named on the command line (all by default)
    root: Path | None = None
    lesson_count: int = 0
    skipped: tuple[Path, ...] = ()  # .py files found that are not lessons

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def open_workshop(
    path: Path, only: Sequence[Path] = (), *, event_rules: bool = True, strict: bool = False
) -> Opened:
    """Find the workshop at or above `path`, then discover, load, validate and assemble it.

    Every problem is collected, none hides another. `event_rules=False` leaves the event
    programme rules (budget, content mix, lightning minutes) to `judge_events`, after the
    lessons ran; an event naming a lesson it does not hold is an error either way. With
    `strict` (or `[execution] strict = true`), every warning is an error.
    """
    root = find_root(path)
    if root is None:
        missing = f"no {CONFIG_NAME} here or in any parent folder"
        return Opened(None, (Diagnostic(str(path), 0, Severity.ERROR, missing),))
    config, diagnostics = load_config(root / CONFIG_NAME)
    diagnostics.extend(state_problems(root))  # `.workshopkit` taken by a file
    not_lessons: list[Path] = []
    paths = discover(root, skipped=not_lessons)
    skipped = tuple(not_lessons)
    sources = _load(paths, root, diagnostics)
    lessons, invalid = _validate(sources, paths, diagnostics)
    if config is None:
        ordered = tuple(sorted(set(diagnostics)))
        return Opened(None, ordered, root=root, lesson_count=len(paths), skipped=skipped)
    tracks, problems = assemble_tracks(config, lessons, invalid)
    diagnostics.extend(problems)
    diagnostics.extend(check_event_items(config, lessons, invalid))
    selected = _select(root, lessons, only, diagnostics)
    workshop = Workshop(config, tuple(lessons), tracks)
    # also when something else is wrong: `check` shows every error and warning at once
    diagnostics.extend(check_events(workshop) if event_rules else event_references(workshop))
    diagnostics.extend(check_assets(workshop))
    diagnostics.extend(placeholder_warnings(config, lessons))
    diagnostics.extend(requirements_diagnostics(config, lessons))
    if strict or config.execution.strict:
        diagnostics = list(promote(diagnostics))
    ordered = tuple(sorted(set(diagnostics)))
    if any(d.is_error for d in ordered):
        return Opened(None, ordered, root=root, lesson_count=len(paths), skipped=skipped)
    return Opened(workshop, ordered, tuple(selected), root, len(paths), skipped)


def _load(paths: Sequence[Path], root: Path, diagnostics: list[Diagnostic]) -> list[LessonSource]:
    sources = []
    for lesson_path in paths:
        loaded = load_lesson(lesson_path, root)
        diagnostics.extend(loaded.diagnostics)
        if loaded.source is not None:
            sources.append(loaded.source)
    return sources


def _validate(
    sources: Sequence[LessonSource], paths: Sequence[Path], diagnostics: list[Diagnostic]
) -> tuple[list[Lesson], set[str]]:
    """The valid lessons, and the ids of those that failed validation (or are a guess of)."""
    lessons: list[Lesson] = []
    invalid: set[str] = set()
    for source in sources:
        lesson, problems = check_lesson(source)
        diagnostics.extend(problems)
        if lesson is not None:
            lessons.append(lesson)
        elif (ident := declared_id(source)) is not None:
            invalid.add(ident)
    read = {source.path for source in sources}
    invalid.update(slugify(p.stem) for p in paths if p not in read)  # a guess: unreadable
    diagnostics.extend(check_declared_ids(sources))
    diagnostics.extend(check_requires(lessons, invalid))
    if not paths:
        diagnostics.append(
            Diagnostic(
                CONFIG_NAME,
                0,
                Severity.ERROR,
                "no lessons found: a lesson is a .py file whose Jupytext header has a "
                "'workshopkit' block (try `workshopkit new lesson`)",
            )
        )
    return lessons, invalid


def _select(
    root: Path, lessons: list[Lesson], only: Sequence[Path], diagnostics: list[Diagnostic]
) -> list[Lesson]:
    if not only:
        return list(lessons)
    wanted = discover(root, only)
    for given in only:
        if given.is_file() and given.resolve() not in wanted:
            diagnostics.append(
                Diagnostic(
                    str(given),
                    0,
                    Severity.ERROR,
                    "not a lesson (no 'workshopkit' block in its header)",
                )
            )
        elif not given.exists():
            diagnostics.append(Diagnostic(str(given), 0, Severity.ERROR, "no such file or folder"))
    keep = set(wanted)
    return [lesson for lesson in lessons if lesson.path in keep]
