"""The data model: frozen dataclasses passed between pipeline stages. No I/O here."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Level(enum.Enum):
    """A lesson's level; the value order is the teaching order."""

    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    def __str__(self) -> str:
        return self.value


_LEVEL_RANK = {level: rank for rank, level in enumerate(Level)}
LEVEL_NAMES: tuple[str, ...] = tuple(level.value for level in Level)
KINDS: tuple[str, ...] = ("lesson", "talk", "lightning")

# Cell tags that carry meaning for workshopkit (DESIGN.md §2).
TAG_PARAMETERS = "parameters"
TAG_SOLUTION = "solution"
TAG_EXERCISE = "exercise"
TAG_RAISES = "raises-exception"
TAG_SKIP = "skip-execution"
TAG_SHOW_IN_SLIDES = "show-in-slides"  # keeps a solution cell (or region) in the slides
# The `slideshow.slide_type` values (nbconvert's and RISE's), and those of speaker notes (shown in
# the slides' speaker view, left out of the learner notebook; see markers.py) and hidden cells.
SLIDE_TYPES: tuple[str, ...] = ("slide", "subslide", "fragment", "skip", "notes", "-")
SLIDE_TYPE_NOTES = "notes"
SLIDE_TYPE_SKIP = "skip"
STRUCTURAL_SLIDE_TYPES = frozenset({"slide", "subslide", "fragment"})  # any: no inferred slides
NEW_SLIDE_TYPES = frozenset({"slide", "subslide"})  # start a slide
HIDDEN_SLIDE_TYPES = frozenset({SLIDE_TYPE_SKIP, SLIDE_TYPE_NOTES})  # not on any slide

# File names Windows cannot store, whatever their extension (`con.txt` too): never an id or asset.
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def exported_names(lesson_id: str) -> tuple[str, ...]:
    """The files a lesson's export writes into `lessons/<id>/` (learner, solution, slides): no
    asset, imported file or lesson may take these names."""
    return (f"{lesson_id}.ipynb", f"{lesson_id}.solution.ipynb", f"{lesson_id}.slides.html")


def tags_from(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The string tags in a cell's metadata (anything malformed counts as no tags)."""
    tags = metadata.get("tags", ())
    return tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()


def cell_tags(cell: Mapping[str, Any]) -> tuple[str, ...]:
    """The tags of an nbformat cell."""
    metadata = cell.get("metadata", {})
    return tags_from(metadata) if isinstance(metadata, Mapping) else ()


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem found before any kernel starts, printed compiler-style."""

    path: str
    line: int
    severity: Severity = field(compare=False)
    message: str = field(compare=True)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity.value}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a lesson file, with where it sits in the `.py` source."""

    index: int  # 0-based position among the lesson's cells
    cell_type: str  # "code" | "markdown" | "raw"
    marker_line: int  # 1-based line of its `# %%` marker (its first line if it has none)
    body_line: int  # 1-based line where its source starts
    source: str
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def tags(self) -> tuple[str, ...]:
        return tags_from(self.metadata)

    @property
    def number(self) -> int:
        """1-based cell number, as reported to users."""
        return self.index + 1


@dataclass(frozen=True, slots=True)
class LessonMeta:
    """The validated `workshopkit` block of a lesson header."""

    id: str
    title: str
    level: Level
    minutes: int
    tags: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    kind: str = "lesson"
    gpu: bool = False
    kernel_start: str | None = None  # "exec": never forked; "fork"/None: as the run says


@dataclass(frozen=True, slots=True)
class Lesson:
    """A validated lesson: its file, metadata and cells."""

    path: Path  # absolute
    relpath: str  # POSIX path relative to the workshop root, used in every message
    meta: LessonMeta
    cells: tuple[Cell, ...]
    text: str = field(repr=False)
    kernel: str | None = None  # kernelspec name from the header
    key_lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    # the header's `jupyter:` mapping: the notebook's metadata (kernelspec, workshopkit, ...)
    notebook_metadata: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def folder(self) -> Path:
        return self.path.parent

    def line_of(self, key: str) -> int:
        """Line of a `workshopkit` header key, or of the header itself."""
        return self.key_lines.get(key, self.key_lines.get("", 1))

    def __repr__(self) -> str:
        return f"Lesson({self.relpath!r}, id={self.id!r}, cells={len(self.cells)})"


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    kernel: str | None = None
    timeout: int = 120  # seconds per cell
    lesson_timeout: int = 900  # seconds per lesson
    jobs: int = 2
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)
    env: tuple[str, ...] = ()  # environment variables whose values join each lesson's cache key
    strict: bool = False  # every warning is an error (`--strict`)
    kernel_start: str | None = None  # "fork" | "exec"; None: fork where it is safe


@dataclass(frozen=True, slots=True)
class TrackSpec:
    """A `[[tracks]]` table: which lessons a track selects."""

    id: str
    title: str
    line: int
    description: str = ""
    levels: tuple[Level, ...] = ()
    tags: tuple[str, ...] = ()
    lessons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LightningRules:
    max_minutes: int = 5
    max_slides: int = 6
    must_show_code: bool = True


@dataclass(frozen=True, slots=True)
class BreakSpec:
    after: str
    minutes: int
    title: str = "Break"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An `[[events]]` table: an evening's programme."""

    id: str
    title: str
    line: int
    lessons: tuple[str, ...]
    minutes: int | None = None
    date: str = ""
    start: str = ""
    venue: str = ""
    description: str = ""
    speakers: Mapping[str, str] = field(default_factory=dict, hash=False)
    breaks: tuple[BreakSpec, ...] = ()
    lightning: LightningRules = field(default_factory=LightningRules)


@dataclass(frozen=True, slots=True)
class LaunchConfig:
    """`[launch]`: where the built dist/ is published (for Colab, Binder and view links)."""

    owner: str
    repo: str
    branch: str = "gh-pages"
    path: str = ""  # the folder of the branch holding dist/, "" for its root
    pages_url: str = ""  # "https://owner.github.io/repo/", or ""


@dataclass(frozen=True, slots=True)
class WorkshopConfig:
    """The parsed `workshop.toml`."""

    root: Path
    path: Path
    title: str
    description: str = ""
    requirements: str | None = None
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    tracks: tuple[TrackSpec, ...] = ()
    events: tuple[EventSpec, ...] = ()
    key_lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    launch: LaunchConfig | None = None

    @property
    def relpath(self) -> str:
        return self.path.name

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


@dataclass(frozen=True, slots=True)
class Track:
    """An ordered path through lessons, prerequisites first, beginner to advanced."""

    id: str
    title: str
    lessons: tuple[Lesson, ...]
    description: str = ""

    @property
    def minutes(self) -> int:
        return sum(lesson.meta.minutes for lesson in self.lessons)


@dataclass(frozen=True, slots=True)
class Workshop:
    """A validated workshop: config, lessons in path order, and assembled tracks."""

    config: WorkshopConfig
    lessons: tuple[Lesson, ...]
    tracks: tuple[Track, ...]

    @property
    def root(self) -> Path:
        return self.config.root

    def lesson(self, lesson_id: str) -> Lesson:
        for lesson in self.lessons:
            if lesson.id == lesson_id:
                return lesson
        raise KeyError(lesson_id)


class Status(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


class ErrorKind(str, enum.Enum):
    """What kind of failure a `LessonError` is (its value is what `report.json` says)."""

    ERROR = "error"  # a cell raised, or the lesson could not be read or run
    TIMEOUT = "timeout"  # a cell, its output, or the whole lesson ran out of time
    KERNEL_DIED = "kernel-died"
    NOT_EXECUTED = "not-executed"  # the run ended without error, but cells never ran
    INFRASTRUCTURE = "infrastructure"  # not the lesson's fault: no kernel, no GPU, a full disk
    WARNING = "warning"  # under --strict: a warning about the lesson failed it (strict.py)

    def __str__(self) -> str:
        return self.value


class TimeLimit(enum.Enum):
    """Which limit a lesson ran into."""

    CELL = "cell"  # --timeout / [execution] timeout
    OUTPUT = "output"  # a cell finished, its output kept arriving (nbclient's IOPub timeout)
    LESSON = "lesson"  # --lesson-timeout / [execution] lesson_timeout


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a lesson's `.py` source: its line, and the 1-based number of its cell (None: the
    lesson as a whole)."""

    path: str
    line: int
    cell: int | None = None


# LessonError messages (nbclient's habit: templates as constants, errors built from the failure).
NO_INPUT_HINT = " (lessons must not prompt for input: input() and getpass() cannot be answered)"
CELL_TIMEOUT = (
    "cell timed out after {ran} (limit {limit} s: --timeout / [execution] timeout); kernel stopped"
)
OUTPUT_TIMEOUT = (
    "the cell finished but its output did not all arrive (IOPub timeout): "
    "output may be incomplete; print less, or less often"
)
LESSON_TIMEOUT = (
    "lesson timed out after {limit} s (limit: --lesson-timeout / [execution] lesson_timeout)"
    "{in_cell}; kernel killed"
)
INTERRUPTED = "the run was interrupted"
WOULD_NOT_START = "kernel '{kernel}' would not start: {message} (argv: {argv})"
COULD_NOT_EXECUTE = "could not execute the lesson: {message}"
NO_GPU = "needs a GPU and none is visible (--require-gpu)"
_TIMEOUT_NAMES = {
    TimeLimit.CELL: "CellTimeoutError",
    TimeLimit.OUTPUT: "IOPubTimeout",
    TimeLimit.LESSON: "LessonTimeout",
}


@dataclass(frozen=True, slots=True)
class LessonError:
    """Why a lesson failed, located in its `.py` source. Build one with a `from_*` constructor,
    named after what failed."""

    path: str
    line: int
    cell: int | None  # 1-based cell number
    ename: str
    evalue: str
    traceback: str = ""
    # A str is taken for its ErrorKind (`"timeout"`) and converted.
    kind: ErrorKind | str = ErrorKind.ERROR

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ErrorKind(self.kind))

    @classmethod
    def _at(
        cls, at: Location, ename: str, evalue: str, traceback: str, kind: ErrorKind
    ) -> LessonError:
        return cls(at.path, at.line, at.cell, ename, evalue, traceback, kind)

    @classmethod
    def from_strict_warning(cls, at: Location, evalue: str) -> LessonError:
        """Under `--strict`, a warning about the lesson (its text in `evalue`) failed it."""
        return cls._at(at, "StrictWarning", evalue, "", ErrorKind.WARNING)

    @classmethod
    def from_cell_error(
        cls, at: Location, ename: str, evalue: str, traceback: str = ""
    ) -> LessonError:
        """A cell raised `ename: evalue` (not in a `raises-exception` cell)."""
        if ename == "StdinNotImplementedError":
            evalue += NO_INPUT_HINT
        return cls._at(at, ename, evalue, traceback, ErrorKind.ERROR)

    @classmethod
    def from_timeout(
        cls, at: Location, limit: TimeLimit, seconds: int, ran: str = ""
    ) -> LessonError:
        """The lesson ran into `limit` (of `seconds`) at `at`; `ran`: how long the cell running
        then had run ("3.2 s"), if one was."""
        if limit is TimeLimit.CELL:
            evalue = CELL_TIMEOUT.format(ran=ran or f"{seconds} s", limit=seconds)
        elif limit is TimeLimit.OUTPUT:
            evalue = OUTPUT_TIMEOUT
        else:
            in_cell = f", in a cell running for {ran}" if ran else ""
            evalue = LESSON_TIMEOUT.format(limit=seconds, in_cell=in_cell)
        return cls._at(at, _TIMEOUT_NAMES[limit], evalue, "", ErrorKind.TIMEOUT)

    @classmethod
    def from_dead_kernel(cls, at: Location, how: str, stderr_tail: str = "") -> LessonError:
        """The kernel died while running the cell at `at`; `how` says how ("kernel died: signal
        9 (SIGKILL), likely out of memory"), `stderr_tail` is the end of what it wrote."""
        return cls._at(at, "DeadKernelError", how, stderr_tail, ErrorKind.KERNEL_DIED)

    @classmethod
    def from_startup(
        cls, at: Location, kernel: str, argv: str, exc: BaseException, stderr_tail: str = ""
    ) -> LessonError:
        """Kernel `kernel` (command line `argv`) would not start: `exc` says why."""
        message = WOULD_NOT_START.format(kernel=kernel, message=_message(exc), argv=argv)
        return cls._at(at, type(exc).__name__, message, stderr_tail, ErrorKind.INFRASTRUCTURE)

    @classmethod
    def from_interrupt(cls, at: Location) -> LessonError:
        """The run was interrupted (Ctrl-C, SIGTERM, `Executor.cancel`) while at `at`."""
        return cls._at(at, "Interrupted", INTERRUPTED, "", ErrorKind.ERROR)

    @classmethod
    def from_exception(cls, at: Location, exc: BaseException, traceback: str = "") -> LessonError:
        """Anything else that stopped the lesson at `at` (a file jupytext cannot read)."""
        return cls._at(at, type(exc).__name__, _message(exc), traceback, ErrorKind.ERROR)

    @classmethod
    def from_executor_fault(cls, at: Location, exc: BaseException) -> LessonError:
        """The executor itself failed (a bug, or an OS fault such as a full disk)."""
        kind = ErrorKind.INFRASTRUCTURE if isinstance(exc, OSError) else ErrorKind.ERROR
        message = COULD_NOT_EXECUTE.format(message=exc)
        return cls._at(at, type(exc).__name__, message, "", kind)

    @classmethod
    def from_not_executed(cls, at: Location, message: str) -> LessonError:
        """Cells that should have run did not (`sys.exit()` part-way); `at`: the first of them,
        or the cell that stopped the run."""
        return cls._at(at, "NotExecuted", message, "", ErrorKind.NOT_EXECUTED)

    @classmethod
    def from_missing_gpu(cls, at: Location, why: str = NO_GPU) -> LessonError:
        """The lesson needs a GPU, none is visible (`why` says where none was found), and
        `--require-gpu` was given (or a cluster's GPU workers left while it waited)."""
        return cls._at(at, "NoGPU", why, "", ErrorKind.INFRASTRUCTURE)

    @classmethod
    def from_cluster_fault(cls, at: Location, ename: str, evalue: str) -> LessonError:
        """The cluster running the lesson lost it (its worker died, the scheduler went away):
        not the lesson's fault."""
        return cls._at(at, ename, evalue, "", ErrorKind.INFRASTRUCTURE)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.cell is not None:
            where += f" (cell {self.cell})"
        return f"{where}: {self.ename}: {self.evalue}" if self.ename else f"{where}: {self.evalue}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "cell": self.cell,
            "ename": self.ename,
            "evalue": self.evalue,
            "kind": ErrorKind(self.kind).value,
            "traceback": self.traceback,
        }


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """`text` without terminal colours (kernels' tracebacks and some errors carry them)."""
    return ANSI.sub("", text)


def _message(exc: BaseException) -> str:
    return strip_ansi(str(exc))


@dataclass(frozen=True, slots=True)
class LessonResult:
    """The outcome of executing one lesson; execution never raises for a lesson's own fault."""

    lesson_id: str
    path: str
    status: Status
    seconds: float
    error: LessonError | None = None
    cached: bool = False
    reason: str = ""  # why it was skipped
    notebook: Path | None = None  # executed notebook, kept for export
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is not Status.FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.lesson_id,
            "path": self.path,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "cached": self.cached,
            "reason": self.reason,
            "error": self.error.to_json() if self.error else None,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class LessonPlan:
    """Everything needed to run one lesson, resolved from the lesson, config and options: what an
    executor is given (`execute.Executor.run`)."""

    lesson: Lesson
    kernel: str
    timeout: int  # seconds per cell
    lesson_timeout: int  # seconds for the whole lesson
    parameters: Mapping[str, Any]
    output_limit: int  # characters of output kept per cell and kind (0: no cap)
    start_timeout: int  # seconds a kernel may take to start
    env: tuple[tuple[str, str | None], ...] = ()  # `[execution] env`: name, value (None: unset)
    kernel_start: str = "exec"  # "fork": from a fork server where it can be (forkkernel)
