"""Planning: each lesson's kernel, limits and parameters, resolved from the options, workshop.toml
and the lesson's header; an unknown kernel stops the run before any kernel starts."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InfrastructureError
from ..model import Lesson, LessonPlan, Workshop

DEFAULT_KERNEL = "python3"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What `workshopkit run` was asked; None means "as workshop.toml says"."""

    jobs: int | None = None
    timeout: int | None = None
    lesson_timeout: int | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    kernel: str | None = None
    use_cache: bool = True
    require_gpu: bool = False
    output_limit: int = 1 << 20
    start_timeout: int = 60
    strict: bool = False  # every lesson warning fails the lesson (strict.py)
    kernel_start: str | None = None  # "fork" | "exec" (--kernel-start); None: as configured
    executor: str = "local"  # "local" | "dask" (`--executor`)
    scheduler: str | None = None  # the Dask scheduler's address (`--scheduler tcp://HOST:PORT`)


def run_kernel_start(workshop: Workshop, options: RunOptions) -> str:
    """How the run's kernels start: --kernel-start, else `[execution] kernel_start`, else fork
    where it is safe (`forkkernel.default_mode`); a lesson header's `exec` opts out."""
    from ..forkkernel import default_mode

    return options.kernel_start or workshop.config.execution.kernel_start or default_mode()


def available_kernels() -> dict[str, str]:
    from jupyter_client.kernelspec import KernelSpecManager

    return {name: str(path) for name, path in KernelSpecManager().find_kernel_specs().items()}


def kernel_argv(kernel: str) -> str:
    """The kernelspec's command line, for start-up failures."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel)
        return " ".join(str(a) for a in spec.argv)
    except Exception:  # best effort, for a message
        return "?"


def plan_lessons(
    workshop: Workshop, lessons: Sequence[Lesson], options: RunOptions
) -> list[LessonPlan]:
    """Resolve kernels, timeouts and parameters; raise InfrastructureError for unknown kernels."""
    cfg = workshop.config.execution
    parameters = {**cfg.parameters, **options.parameters}
    start = run_kernel_start(workshop, options)
    plans = [
        LessonPlan(
            lesson=lesson,
            kernel=options.kernel or cfg.kernel or lesson.kernel or DEFAULT_KERNEL,
            timeout=options.timeout or cfg.timeout,
            lesson_timeout=options.lesson_timeout or cfg.lesson_timeout,
            parameters=parameters,
            output_limit=options.output_limit,
            start_timeout=options.start_timeout,
            env=tuple((name, os.environ.get(name)) for name in cfg.env),
            kernel_start="exec" if lesson.meta.kernel_start == "exec" else start,
        )
        for lesson in lessons
    ]
    needed = {plan.kernel for plan in plans}
    if needed:
        known = available_kernels()
        missing = sorted(needed - set(known))
        if missing:
            raise _no_such_kernel(workshop, plans, missing, known, options)
    return plans


def _no_such_kernel(
    workshop: Workshop,
    plans: Sequence[LessonPlan],
    missing: Sequence[str],
    known: Mapping[str, str],
    options: RunOptions,
) -> InfrastructureError:
    """Where the unknown kernel was asked for: --kernel, workshop.toml or a lesson header."""
    available = (
        f"available: {', '.join(sorted(known)) or 'none'}; install one with "
        "`python -m ipykernel install --user --name NAME`"
    )
    names = ", ".join(repr(m) for m in missing)
    if options.kernel:
        return InfrastructureError(f"no such kernel {names} (--kernel); {available}")
    if workshop.config.execution.kernel:
        return InfrastructureError(
            f"no such kernel {names} ([execution] kernel); {available}",
            path=workshop.config.relpath,
            line=workshop.config.line_of("execution.kernel"),
        )
    users = [p.lesson for p in plans if p.kernel in missing]
    first = users[0]
    line = next(
        (n for n, text in enumerate(first.text.split("\n"), 1) if "kernelspec" in text),
        first.line_of(""),
    )
    others = (
        f" (and {len(users) - 1} more lesson{'s' * (len(users) > 2)})" if len(users) > 1 else ""
    )
    return InfrastructureError(
        f"no such kernel {names} in the lesson's kernelspec{others}; {available}",
        path=first.relpath,
        line=line,
    )
