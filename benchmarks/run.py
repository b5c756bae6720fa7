#!/usr/bin/env python3
"""Time workshopkit against its peers on the standard 24-lesson workload, in the same session.

    python benchmarks/run.py [--rounds 3] [--quick] [--only run|build|slides|KEY,...] [--keep]

Each round runs every selected contender once, in an interleaved order (a peer, then a
workshopkit row, then the next peer ...), so slow drift of the machine's load hits both sides of
a comparison alike; each contender works in a fresh copy of the workload (copying is not timed).
Every run is checked (exit code, report.json, executed notebooks, pytest/jcache summaries): a
broken contender is reported as FAILED, never as fast. Nothing here asserts on times.

Prints a Markdown report to stdout and writes it to benchmarks/RESULTS.md (``--quick``, a
one-round smoke test, writes benchmarks/_work/RESULTS-quick.md instead unless ``--output``).
Progress goes to stderr. Work dirs live under benchmarks/_work/ (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = ROOT / ".venv"
VBIN = VENV / "bin"
GEN = Path("/work/shared/bench/gen_workshop.py")
N_LESSONS = 24
SLEEP = 0.2
N_TRACKS = 3  # gen_workshop.py default
MIB = 1024 * 1024

# Re-run under the project's venv (psutil, jupytext, nbformat, jupyter_cache live there).
if (
    Path(sys.prefix).resolve() != VENV.resolve()
    and (VBIN / "python").exists()
    and not os.environ.get("WK_BENCH_REEXEC")
):
    os.environ["WK_BENCH_REEXEC"] = "1"
    os.execv(
        str(VBIN / "python"), [str(VBIN / "python"), str(Path(__file__).resolve()), *sys.argv[1:]]
    )

import psutil  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Failed(Exception):
    """A contender did not do its job; the message says why."""


# --------------------------------------------------------------------------------------------
# Running and measuring one command


@dataclass
class Timed:
    seconds: float
    rc: int
    cpu_s: float  # user+sys of the command's process tree (reaped descendants)
    other_pct: float  # CPU used by everything else on the machine, % of all cores, during the run
    load1: float  # 1-min load average when the command started
    rss_main: int = 0  # peak RSS of the command's own process (bytes), when sampled
    rss_helpers: int = 0  # peak RSS of main + non-kernel descendants, when sampled
    log_path: Path | None = None


class RssSampler(threading.Thread):
    """Samples the RSS of one process every 50 ms (not its children); every 1 s it also adds the
    RSS of non-kernel descendants, to catch work moved into helper processes."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.stop = threading.Event()
        self.peak_main = 0
        self.peak_helpers = 0
        self.samples = 0
        self.seen_helpers: set[int] = set()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            try:
                rss = self.proc.memory_info().rss
            except psutil.Error:
                return
            self.samples += 1
            self.peak_main = max(self.peak_main, rss)
            if n % 20 == 0:
                # A helper counts only when seen in two samples in a row: a kernel caught between
                # fork and exec still shows the parent's command line for a few milliseconds.
                total, helpers = rss, set()
                with contextlib.suppress(psutil.Error):
                    for ch in self.proc.children(recursive=True):
                        with contextlib.suppress(psutil.Error):
                            if not any("ipykernel" in part for part in ch.cmdline()):
                                helpers.add(ch.pid)
                                if ch.pid in self.seen_helpers:
                                    total += ch.memory_info().rss
                self.seen_helpers = helpers
                self.peak_helpers = max(self.peak_helpers, total)
            n += 1
            self.stop.wait(self.interval)


def _busy_cpu_seconds() -> float:
    t = psutil.cpu_times()
    return float(
        sum(t)
        - t.idle
        - getattr(t, "iowait", 0.0)
        - getattr(t, "guest", 0.0)
        - getattr(t, "guest_nice", 0.0)
    )


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Interrupt the command's process group (so it can stop its kernels), then kill it."""
    for sig, grace in ((signal.SIGINT, 5.0), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_timed(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    timeout: float,
    sample_rss: bool = False,
    stdin_text: str | None = None,
) -> Timed:
    """Run ``cmd`` (its output to ``log_path``), timing the wall clock around it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    ncpu = psutil.cpu_count() or 1
    load1 = os.getloadavg()[0]
    with log_path.open("wb") as out:
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0 = _busy_cpu_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            start_new_session=True,
        )
        sampler = RssSampler(proc.pid) if sample_rss else None
        if sampler:
            sampler.start()
        try:
            if stdin_text is not None:
                assert proc.stdin is not None
                proc.stdin.write(stdin_text.encode())
                proc.stdin.close()
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            rc = -999
        except BaseException:  # Ctrl-C: the command runs in its own session, so end it here
            stop_group(proc)
            if sampler:
                sampler.stop.set()
            raise
        seconds = time.perf_counter() - t0
        busy1 = _busy_cpu_seconds()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if sampler:
            sampler.stop.set()
            sampler.join()
    cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    other = max(0.0, (busy1 - busy0) - cpu_s)
    t = Timed(seconds, rc, cpu_s, 100.0 * other / (seconds * ncpu), load1, log_path=log_path)
    if sampler:
        t.rss_main, t.rss_helpers = sampler.peak_main, sampler.peak_helpers
    if rc == -999:
        raise Failed(f"timed out after {timeout:.0f} s: {' '.join(cmd)} (log {log_path})")
    return t


def tail(path: Path | None, n: int = 12) -> str:
    if not path or not path.exists():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join("    | " + ln for ln in lines[-n:])


def check_rc(t: Timed, what: str) -> None:
    if t.rc != 0:
        raise Failed(f"{what} exited {t.rc} (log {t.log_path})\n{tail(t.log_path)}")


# --------------------------------------------------------------------------------------------
# Verifying results


def check_executed(nb_path: Path) -> None:
    import nbformat

    if not nb_path.is_file():
        raise Failed(f"missing output notebook {nb_path}")
    nb = nbformat.read(nb_path, as_version=4)  # type: ignore[no-untyped-call]
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(code) < 8:
        raise Failed(f"{nb_path}: only {len(code)} code cells")
    for c in code:
        if c.get("execution_count") is None and "skip-execution" not in c.metadata.get("tags", []):
            raise Failed(f"{nb_path}: a code cell was not executed")
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                raise Failed(f"{nb_path}: error output {o.get('ename')}: {o.get('evalue')}")


def lessons_in(d: Path) -> list[Path]:
    return sorted(d.glob("track*/lesson*.py"))


def check_outputs_next_to_lessons(d: Path, suffix: str = ".out.ipynb") -> None:
    lessons = lessons_in(d)
    if len(lessons) != N_LESSONS:
        raise Failed(f"{d}: expected {N_LESSONS} lessons, found {len(lessons)}")
    for p in lessons:
        check_executed(p.with_name(p.stem + suffix))


def read_report(d: Path) -> dict[str, Any]:
    path = d / ".workshopkit" / "report.json"
    if not path.is_file():
        raise Failed(f"no report at {path}")
    rep: dict[str, Any] = json.loads(path.read_text())
    return rep


def check_wk_report(d: Path, *, kernels: int | None) -> dict[str, Any]:
    rep = read_report(d)
    lessons = rep.get("lessons", [])
    if len(lessons) != N_LESSONS:
        raise Failed(f"report.json lists {len(lessons)} lessons, expected {N_LESSONS}")
    bad = [
        f"{les.get('path')}: {les.get('status')}"
        for les in lessons
        if les.get("status") != "passed"
    ]
    if bad:
        raise Failed("lessons not passed: " + "; ".join(bad[:5]))
    if rep.get("exit_code", 0) != 0:
        raise Failed(f"report.json exit_code {rep.get('exit_code')}")
    started = rep.get("kernels_started")
    if kernels is not None:
        # A cold run executes every lesson; a kernel start retried after a start-up failure (a port
        # taken by another process, say) counts twice, so more than one per lesson is fine.
        if not isinstance(started, int) or started < kernels:
            raise Failed(f"kernels_started = {started}, expected at least {kernels}")
        cached = [les.get("path") for les in lessons if les.get("cached")]
        if cached:
            raise Failed(f"cold run took {len(cached)} lessons from the cache, e.g. {cached[0]}")
    return rep


# --------------------------------------------------------------------------------------------
# The session: workload, environment, availability


@dataclass
class Sample:
    round: int
    seconds: float | None = None
    cpu_s: float | None = None
    other_pct: float | None = None
    load1: float | None = None
    error: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and self.seconds is not None


class Session:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.work = (
            Path(args.workdir).resolve() if args.workdir else HERE / "_work" / f"bench-{stamp}"
        )
        self.work.mkdir(parents=True, exist_ok=True)
        self.pristine = self.work / "pristine"
        self.env = dict(os.environ)
        self.env.pop("WK_BENCH_REEXEC", None)
        self.env.pop("JUPYTERCACHE", None)
        self.env.pop("PYTHONHOME", None)
        self.env.pop("GITHUB_ACTIONS", None)
        self.env["PATH"] = f"{VBIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["VIRTUAL_ENV"] = str(VENV)
        self.timeout = float(args.timeout)
        self.round_dirs: dict[tuple[str, int], Path] = {}  # (key, round) -> dir, for warm rows
        self._executed: Path | None = None
        self._build_help: str | None = None

    # workload -------------------------------------------------------------------------------
    def make_pristine(self) -> None:
        if self.pristine.exists():
            shutil.rmtree(self.pristine)
        subprocess.run(
            [
                str(VBIN / "python"),
                str(GEN),
                str(self.pristine),
                "-n",
                str(N_LESSONS),
                "--sleep",
                str(SLEEP),
            ],
            check=True,
            env=self.env,
            stderr=subprocess.DEVNULL,
        )

    def fresh(self, name: str) -> Path:
        d = self.work / name
        if d.exists():
            shutil.rmtree(d)
        shutil.copytree(self.pristine, d)
        return d

    def executed_notebooks(self) -> Path:
        """The 24 lessons executed once (nbclient, untimed), flat in one folder: slides input."""
        if self._executed is None:
            d = self.fresh("executed-src")
            log("  (setup: executing the workload once with nbclient for the slides rows)")
            t = run_timed(
                [str(VBIN / "python"), str(HERE / "nbclient2.py"), str(d)],
                cwd=d,
                env=self.env,
                log_path=d / "setup.log",
                timeout=self.timeout,
            )
            check_rc(t, "setup nbclient2.py")
            check_outputs_next_to_lessons(d)
            flat = self.work / "executed"
            flat.mkdir(exist_ok=True)
            for p in lessons_in(d):
                shutil.copy2(p.with_name(p.stem + ".out.ipynb"), flat / f"{p.stem}.ipynb")
            self._executed = flat
        return self._executed

    # availability ---------------------------------------------------------------------------
    def build_help(self) -> str | None:
        if self._build_help is None:
            r = subprocess.run(
                [str(VBIN / "workshopkit"), "build", "--help"],
                env=self.env,
                capture_output=True,
                text=True,
            )
            self._build_help = r.stdout if r.returncode == 0 else ""
        return self._build_help or None

    def build_available(self) -> str | None:
        return (
            None if self.build_help() else "`workshopkit build --help` fails (no build command yet)"
        )

    def slides_api_available(self) -> str | None:
        r = subprocess.run(
            [
                str(VBIN / "python"),
                "-c",
                "from workshopkit.export.slides import prepare_slides, render_slides, static_dir",
            ],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return None if r.returncode == 0 else "workshopkit.export.slides API not importable"


# --------------------------------------------------------------------------------------------
# Contenders: each does its untimed setup, one timed command, then checks the result


def wk(*args: str) -> list[str]:
    return [str(VBIN / "workshopkit"), *args]


def c_loop(s: Session, r: int) -> Sample:
    d = s.fresh(f"r{r}-loop")
    t = run_timed(
        ["bash", str(HERE / "naive.sh"), "loop"],
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
    )
    check_rc(t, "jupytext+papermill loop")
    check_outputs_next_to_lessons(d)
    return sample_of(r, t)


def c_nbclient2(s: Session, r: int) -> Sample:
    d = s.fresh(f"r{r}-nbclient2")
    t = run_timed(
        [str(VBIN / "python"), str(HERE / "nbclient2.py"), str(d), "--jobs", "2"],
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
    )
    check_rc(t, "nbclient2.py")
    check_outputs_next_to_lessons(d)
    return sample_of(r, t)


def c_nbmake(s: Session, r: int) -> Sample:
    import jupytext

    d = s.fresh(f"r{r}-nbmake")
    for p in lessons_in(d):  # pre-convert (untimed), keep only the notebooks
        jupytext.write(jupytext.read(p, fmt="py:percent"), p.with_suffix(".ipynb"))
        p.unlink()
    (d / "pytest.ini").write_text("[pytest]\n")  # own rootdir: not /work/main's pytest config
    t = run_timed(
        [str(VBIN / "pytest"), "--nbmake", "-n", "2", "-q", "-p", "no:cacheprovider", "."],
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
    )
    check_rc(t, "pytest --nbmake -n 2")
    text = t.log_path.read_text(errors="replace") if t.log_path else ""
    m = re.search(r"(\d+) passed", text)
    if not m or int(m.group(1)) != N_LESSONS:
        raise Failed(f"pytest did not report {N_LESSONS} passed:\n{tail(t.log_path)}")
    return sample_of(r, t)


def _jcache_env(s: Session, d: Path) -> dict[str, str]:
    return {**s.env, "JUPYTERCACHE": str(d / ".jupyter_cache")}


def _jcache_check(t: Timed, d: Path, *, executed: int) -> None:
    check_rc(t, "jcache project execute")
    text = t.log_path.read_text(errors="replace") if t.log_path else ""
    m = re.search(r"^succeeded:\s*(\[\])?\s*\n((?:- .*\n)*)", text, re.M)
    succeeded = 0 if not m or m.group(1) else len(m.group(2).splitlines())
    if "excepted: []" not in text or "errored: []" not in text or succeeded != executed:
        raise Failed(
            f"jcache: expected {executed} succeeded, none excepted or errored:\n"
            + tail(t.log_path, 20)
        )
    from jupyter_cache import get_cache

    n = len(get_cache(d / ".jupyter_cache").list_cache_records())
    if n != N_LESSONS:
        raise Failed(f"jcache holds {n} cached notebooks, expected {N_LESSONS}")


def _jcache_cold(s: Session, r: int, tag: str) -> tuple[Path, Timed, float]:
    d = s.fresh(f"r{r}-{tag}")
    env = _jcache_env(s, d)
    t0 = time.perf_counter()
    add = subprocess.run(
        [str(VBIN / "jcache"), "notebook", "add", "--reader", "jupytext", *map(str, lessons_in(d))],
        cwd=d,
        env=env,
        input="y\n",
        capture_output=True,
        text=True,
    )
    add_s = time.perf_counter() - t0
    if add.returncode != 0:
        raise Failed(f"jcache notebook add exited {add.returncode}: {add.stderr[-500:]}")
    t = run_timed(
        [str(VBIN / "jcache"), "project", "execute", "--timeout", "120"],
        cwd=d,
        env=env,
        log_path=d / "bench.log",
        timeout=s.timeout,
    )
    _jcache_check(t, d, executed=N_LESSONS)
    return d, t, add_s


def c_jcache_cold(s: Session, r: int) -> Sample:
    d, t, add_s = _jcache_cold(s, r, "jcache")
    s.round_dirs[("jcache-cold", r)] = d
    out = sample_of(r, t)
    out.extras["add_s"] = add_s
    return out


def c_jcache_warm(s: Session, r: int) -> Sample:
    d = s.round_dirs.get(("jcache-cold", r))
    if d is None:  # jcache-cold not selected (or failed): prime untimed
        log("  (setup: priming jupyter-cache)")
        d, _, _ = _jcache_cold(s, r, "jcache-prime")
    t = run_timed(
        [str(VBIN / "jcache"), "project", "execute", "--timeout", "120"],
        cwd=d,
        env=_jcache_env(s, d),
        log_path=d / "bench-warm.log",
        timeout=s.timeout,
    )
    _jcache_check(t, d, executed=0)
    return sample_of(r, t)


def _wk_cold(s: Session, r: int, key: str, extra: list[str]) -> Sample:
    d = s.fresh(f"r{r}-{key}")
    t = run_timed(
        wk("run", ".", "--no-cache", *extra),
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
        sample_rss=True,
    )
    check_rc(t, "workshopkit run --no-cache")
    rep = check_wk_report(d, kernels=N_LESSONS)
    s.round_dirs[(key, r)] = d
    out = sample_of(r, t)
    out.extras.update(
        rss_main=t.rss_main,
        rss_helpers=t.rss_helpers,
        report_s=rep.get("seconds"),
        kernel_retries=rep["kernels_started"] - N_LESSONS,
    )
    return out


def c_wk_cold(s: Session, r: int) -> Sample:
    return _wk_cold(s, r, "wk-cold", [])


def c_wk_cold_j3(s: Session, r: int) -> Sample:
    return _wk_cold(s, r, "wk-cold-j3", ["--jobs", "3"])


def c_wk_cold_fork(s: Session, r: int) -> Sample:
    out = _wk_cold(s, r, "wk-cold-fork", ["--kernel-start", "fork"])
    _check_started(s.round_dirs[("wk-cold-fork", r)], forked=N_LESSONS)
    return out


def c_wk_cold_exec(s: Session, r: int) -> Sample:
    out = _wk_cold(s, r, "wk-cold-exec", ["--kernel-start", "exec"])
    _check_started(s.round_dirs[("wk-cold-exec", r)], forked=0)
    return out


def _check_started(d: Path, *, forked: int) -> None:
    """report.json's kernel_start: every kernel forked (fork rows), or none (exec rows)."""
    started = read_report(d).get("kernel_start") or {}
    if started.get("forked") != forked or started.get("fallbacks"):
        raise Failed(f"{d}: kernel_start is {started}, expected {forked} forked kernels")


def c_floor(s: Session, r: int) -> Sample:
    d = s.fresh(f"r{r}-floor")
    t = run_timed(
        [str(VBIN / "python"), str(HERE / "floor.py"), str(d), "--jobs", "2"],
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
    )
    check_rc(t, "floor.py")
    return sample_of(r, t)


EXAMPLE = ROOT / "workshops" / "ml-meetup"


def _example(s: Session, r: int, mode: str) -> Sample:
    d = s.work / f"r{r}-example-{mode}"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(EXAMPLE, d, ignore=shutil.ignore_patterns(".workshopkit", "dist"))
    t = run_timed(
        wk("run", ".", "--no-cache", "--kernel-start", mode),
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
    )
    check_rc(t, f"workshopkit run --kernel-start {mode} (example workshop)")
    rep = read_report(d)
    if rep.get("exit_code") != 0:
        raise Failed(f"{d}: the example workshop did not pass:\n{tail(t.log_path)}")
    started = rep.get("kernel_start") or {}
    if mode == "fork" and (started.get("exec") or started.get("fallbacks")):
        raise Failed(f"{d}: not every kernel was forked: {started}")
    return sample_of(r, t)


def c_example_fork(s: Session, r: int) -> Sample:
    return _example(s, r, "fork")


def c_example_exec(s: Session, r: int) -> Sample:
    return _example(s, r, "exec")


def c_wk_warm(s: Session, r: int) -> Sample:
    d = s.round_dirs.get(("wk-cold", r)) or s.round_dirs.get(("wk-cold-j3", r))
    if d is None:  # no cold run this round: prime untimed
        log("  (setup: priming the workshopkit cache)")
        d = s.fresh(f"r{r}-wk-prime")
        t = run_timed(wk("run", "."), cwd=d, env=s.env, log_path=d / "prime.log", timeout=s.timeout)
        check_rc(t, "workshopkit run (priming)")
    t = run_timed(
        wk("run", "."), cwd=d, env=s.env, log_path=d / "bench-warm.log", timeout=s.timeout
    )
    check_rc(t, "workshopkit run (warm)")
    rep = check_wk_report(d, kernels=None)
    out = sample_of(r, t)
    out.extras["kernels_started"] = rep.get("kernels_started")
    if rep.get("kernels_started") != 0:
        out.error = f"warm run started {rep.get('kernels_started')} kernels (expected 0)"
    return out


def _count(d: Path, pattern: str) -> int:
    return len(list(d.glob(pattern)))


def c_slides_nbconvert(s: Session, r: int) -> Sample:
    src = s.executed_notebooks()
    out = s.work / f"r{r}-slides-nbconvert"
    shutil.rmtree(out, ignore_errors=True)
    t = run_timed(
        ["bash", str(HERE / "naive.sh"), "slides", str(src), str(out)],
        cwd=s.work,
        env=s.env,
        log_path=s.work / f"r{r}-slides-nbconvert.log",
        timeout=s.timeout,
    )
    check_rc(t, "nbconvert --to slides loop")
    if _count(out, "*.slides.html") != N_LESSONS:
        raise Failed(f"expected {N_LESSONS} decks in {out}, found {_count(out, '*.slides.html')}")
    return sample_of(r, t)


def c_slides_wk(s: Session, r: int) -> Sample:
    src = s.executed_notebooks()
    out = s.work / f"r{r}-slides-wk"
    shutil.rmtree(out, ignore_errors=True)
    t = run_timed(
        [str(VBIN / "python"), str(HERE / "wk_slides.py"), str(src), str(out)],
        cwd=s.work,
        env=s.env,
        log_path=s.work / f"r{r}-slides-wk.log",
        timeout=s.timeout,
    )
    check_rc(t, "wk_slides.py")
    if _count(out, "*.slides.html") != N_LESSONS:
        raise Failed(f"expected {N_LESSONS} decks in {out}, found {_count(out, '*.slides.html')}")
    return sample_of(r, t)


def c_build_naive(s: Session, r: int) -> Sample:
    d = s.fresh(f"r{r}-build-naive")
    t = run_timed(
        ["bash", str(HERE / "naive.sh"), "build"],
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
    )
    check_rc(t, "naive build")
    check_outputs_next_to_lessons(d)
    if (
        _count(d / "dist", "*/*.slides.html") != N_LESSONS
        or _count(d / "dist", "*.zip") != N_TRACKS
    ):
        raise Failed(
            f"naive build: expected {N_LESSONS} decks and {N_TRACKS} zips under {d / 'dist'}"
        )
    return sample_of(r, t)


def c_build_wk(s: Session, r: int) -> Sample:
    d = s.fresh(f"r{r}-build-wk")
    extra = ["--no-cache"] if "--no-cache" in (s.build_help() or "") else []
    t = run_timed(
        wk("build", ".", *extra),
        cwd=d,
        env=s.env,
        log_path=d / "bench.log",
        timeout=s.timeout,
        sample_rss=True,
    )
    check_rc(t, "workshopkit build")
    dist = d / "dist"
    decks = _count(dist, "**/*.slides.html")
    zips = _count(dist, "*.zip")
    if decks != N_LESSONS or zips != N_TRACKS:
        raise Failed(
            f"workshopkit build: {decks} decks and {zips} zips under {dist}, "
            f"expected {N_LESSONS} and {N_TRACKS}"
        )
    out = sample_of(r, t)
    out.extras.update(rss_main=t.rss_main, rss_helpers=t.rss_helpers)
    return out


def sample_of(r: int, t: Timed) -> Sample:
    return Sample(r, t.seconds, t.cpu_s, t.other_pct, t.load1)


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    runs: str  # what is timed, for the table
    fn: Callable[[Session, int], Sample]
    groups: tuple[str, ...]
    baseline: str | None = None  # key of the row this one is compared with
    available: Callable[[Session], str | None] = lambda s: None


# Order within a round: each peer is followed by the workshopkit row it is compared with.
CONTENDERS: list[Contender] = [
    Contender(
        "loop",
        "jupytext+papermill CLI loop",
        "per lesson `jupytext --to ipynb`, then `papermill --cwd`",
        c_loop,
        ("run", "peers"),
    ),
    Contender(
        "wk-cold",
        "workshopkit run, cold",
        "`workshopkit run . --no-cache` (jobs 2)",
        c_wk_cold,
        ("run", "workshopkit"),
        baseline="nbclient2",
    ),
    Contender(
        "nbclient2",
        "nbclient, 2 kernels, 1 process",
        "`benchmarks/nbclient2.py --jobs 2`",
        c_nbclient2,
        ("run", "peers"),
    ),
    Contender(
        "wk-cold-j3",
        "workshopkit run, cold, --jobs 3",
        "`workshopkit run . --no-cache --jobs 3`",
        c_wk_cold_j3,
        ("run", "workshopkit"),
        baseline="nbclient2",
    ),
    Contender(
        "floor",
        "plain Python, 2 processes",
        "`benchmarks/floor.py --jobs 2`: the lessons' code, no kernel",
        c_floor,
        ("fork",),
    ),
    Contender(
        "wk-cold-fork",
        "workshopkit run, cold, forked kernels",
        "`workshopkit run . --no-cache --kernel-start fork`",
        c_wk_cold_fork,
        ("workshopkit", "fork"),
        baseline="floor",
    ),
    Contender(
        "wk-cold-exec",
        "workshopkit run, cold, exec'd kernels",
        "`workshopkit run . --no-cache --kernel-start exec` (before)",
        c_wk_cold_exec,
        ("workshopkit", "fork"),
        baseline="nbclient2",
    ),
    Contender(
        "example-fork",
        "example workshop, cold, fork",
        "`workshopkit run workshops/ml-meetup --no-cache --kernel-start fork`",
        c_example_fork,
        ("example",),
        baseline="example-exec",
    ),
    Contender(
        "example-exec",
        "example workshop, cold, exec",
        "`workshopkit run workshops/ml-meetup --no-cache --kernel-start exec`",
        c_example_exec,
        ("example",),
    ),
    Contender(
        "nbmake",
        "pytest --nbmake -n 2",
        "`pytest --nbmake -n 2` over pre-converted .ipynb",
        c_nbmake,
        ("run", "peers"),
    ),
    Contender(
        "jcache-cold",
        "jupyter-cache, cold",
        "`jcache project execute` (local-serial; add untimed)",
        c_jcache_cold,
        ("run", "peers"),
    ),
    Contender(
        "jcache-warm",
        "jupyter-cache, warm",
        "second `jcache project execute`",
        c_jcache_warm,
        ("run", "peers"),
    ),
    Contender(
        "wk-warm",
        "workshopkit run, warm",
        "second `workshopkit run .`, nothing changed",
        c_wk_warm,
        ("run", "workshopkit"),
        baseline="jcache-warm",
    ),
    Contender(
        "slides-nbconvert",
        "nbconvert slides, 1 process per deck",
        "`jupyter nbconvert --to slides` x24",
        c_slides_nbconvert,
        ("build", "slides", "peers"),
    ),
    Contender(
        "slides-wk",
        "workshopkit slide export",
        "`benchmarks/wk_slides.py` (one process, 24 decks)",
        c_slides_wk,
        ("build", "slides", "workshopkit"),
        baseline="slides-nbconvert",
        available=Session.slides_api_available,
    ),
    Contender(
        "build-naive",
        "naive build pipeline",
        "CLI loop, then nbconvert slides + notebook per file, zip",
        c_build_naive,
        ("build", "peers"),
        available=Session.build_available,  # only a yardstick for build-wk
    ),
    Contender(
        "build-wk",
        "workshopkit build, cold",
        "`workshopkit build .` in a fresh copy",
        c_build_wk,
        ("build", "workshopkit"),
        baseline="build-naive",
        available=Session.build_available,
    ),
]
BY_KEY = {c.key: c for c in CONTENDERS}
COLD_RUN_ROWS = (  # x CLI loop column
    "wk-cold",
    "nbclient2",
    "wk-cold-j3",
    "nbmake",
    "jcache-cold",
    "floor",
    "wk-cold-fork",
    "wk-cold-exec",
)

GOALS = [  # (label, row, baseline row, max ratio)
    ("cold run vs CLI loop", "wk-cold", "loop", 0.40),
    ("cold run vs nbclient-2", "wk-cold", "nbclient2", 1.10),
    ("forked cold run vs plain-Python floor", "wk-cold-fork", "floor", 2.0),
    ("forked cold run vs nbclient-2", "wk-cold-fork", "nbclient2", 0.40),
    ("example workshop, fork vs exec", "example-fork", "example-exec", 1.0),
    ("warm run vs warm jupyter-cache", "wk-warm", "jcache-warm", 0.50),
    ("slides vs nbconvert per deck", "slides-wk", "slides-nbconvert", 0.12),
    ("full cold build vs naive pipeline", "build-wk", "build-naive", 0.30),
]
RSS_GOAL_MIB = 150


# --------------------------------------------------------------------------------------------
# Report


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def ok_samples(results: dict[str, list[Sample]], key: str) -> list[Sample]:
    return [x for x in results.get(key, []) if x.ok]


def paired_ratios(results: dict[str, list[Sample]], key: str, base: str) -> list[float]:
    a = {x.round: x.seconds for x in ok_samples(results, key)}
    b = {x.round: x.seconds for x in ok_samples(results, base)}
    return [a[r] / b[r] for r in sorted(a) if b.get(r)]  # type: ignore[operator]


def ratio(
    results: dict[str, list[Sample]], key: str, base: str
) -> tuple[float | None, list[float]]:
    a = med([x.seconds for x in ok_samples(results, key)])  # type: ignore[misc]
    b = med([x.seconds for x in ok_samples(results, base)])  # type: ignore[misc]
    if a is None or not b:
        return None, []
    return a / b, paired_ratios(results, key, base)


def fmt_ratio(r: float | None, pairs: list[float]) -> str:
    if r is None:
        return "-"
    text = f"{r:.2f}x"
    if len(pairs) > 1:
        text += f" ({min(pairs):.2f}-{max(pairs):.2f})"
    return text


def package_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    names = [
        "workshopkit",
        "papermill",
        "jupytext",
        "nbclient",
        "nbconvert",
        "nbformat",
        "nbmake",
        "jupyter-cache",
        "ipykernel",
        "jupyter_client",
        "pyzmq",
        "pytest",
        "pytest-xdist",
        "numpy",
    ]
    out = []
    for n in names:
        try:
            out.append(f"{n} {version(n)}")
        except PackageNotFoundError:
            out.append(f"{n} (missing)")
    return ", ".join(out)


def git_describe() -> str:
    try:  # read-only queries
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        )
        if head.returncode != 0:
            return "git: unknown"
        return f"git {head.stdout.strip()}" + (
            " + uncommitted changes in src/" if dirty.stdout.strip() else ""
        )
    except OSError:
        return "git: unknown"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def row_notes(key: str, samples: list[Sample]) -> list[str]:
    good = [x for x in samples if x.ok]
    bad = [x for x in samples if not x.ok]
    notes: list[str] = []
    if bad:
        first = bad[0].error.splitlines()[0][:160]
        notes.append(f"**FAILED {len(bad)}/{len(samples)}**: {first}")
    if key.startswith("wk-cold") or key == "build-wk":
        rss = [x.extras["rss_main"] / MIB for x in good if x.extras.get("rss_main")]
        helpers = [x.extras["rss_helpers"] / MIB for x in good if x.extras.get("rss_helpers")]
        if rss:
            notes.append(
                f"peak RSS of the workshopkit process {statistics.median(rss):.0f} MiB median, "
                f"{max(rss):.0f} max"
            )
        if rss and helpers and max(helpers) > max(rss) * 1.05:
            notes.append(f"with non-kernel helper processes {max(helpers):.0f} MiB")
    retries = sum(x.extras.get("kernel_retries", 0) for x in good)
    if retries:
        notes.append(f"{retries} kernel start(s) retried by workshopkit over all rounds")
    if key == "wk-warm":
        notes.append(f"kernels_started {[x.extras.get('kernels_started') for x in samples]}")
    if key == "jcache-cold":
        adds = [x.extras["add_s"] for x in good if "add_s" in x.extras]
        if adds:
            notes.append(f"+ `jcache notebook add` {statistics.median(adds):.1f} s (untimed)")
    return notes


def header_lines(
    s: Session,
    results: dict[str, list[Sample]],
    order: list[str],
    started: dt.datetime,
    took: float,
) -> list[str]:
    a = s.args
    quick = " (**--quick smoke test: one round, not a measurement**)" if a.quick else ""
    mem = psutil.virtual_memory().total / 1024**3
    lines = [
        "# workshopkit benchmark results",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M')} UTC; the script took "
        f"{took / 60:.1f} min{quick}",
        f"- command: `python benchmarks/run.py {' '.join(sys.argv[1:])}`",
        f"- machine: nproc {os.cpu_count()}, {cpu_model()}, {mem:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"- python {platform.python_version()} ({sys.executable})",
        f"- packages: {package_versions()}",
        f"- workshopkit from {git_describe()} (others edit it concurrently)",
        f"- workload: `gen_workshop.py DIR -n {N_LESSONS} --sleep {SLEEP}` ({N_LESSONS} lessons, "
        f"{N_TRACKS} tracks), a fresh copy per contender and round",
        f"- {a.rounds} round(s); within a round the contenders run one after another in this "
        "order: " + ", ".join(f"`{k}`" for k in order),
    ]
    loads = [x.load1 for v in results.values() for x in v if x.load1 is not None]
    others = [x.other_pct for v in results.values() for x in v if x.other_pct is not None]
    if loads and others:
        lines.append(
            f"- noise: 1-min load average at the start of each timed command "
            f"{min(loads):.1f}-{max(loads):.1f}; CPU used by other processes during timed commands "
            f"{min(others):.0f}-{max(others):.0f}% of the machine (median "
            f"{statistics.median(others):.0f}%). The machine is shared: treat differences under "
            "~15% as noise, and prefer the per-round paired ratios in brackets."
        )
    return lines


def time_table(
    results: dict[str, list[Sample]], skipped: dict[str, str], order: list[str]
) -> list[str]:
    lines = [
        "## Wall time (seconds, lower is better)",
        "",
        row(
            "contender",
            "timed command",
            "n ok",
            "median",
            "min",
            "max",
            "CPU s (median)",
            "other load %",
            "x CLI loop",
            "x its baseline",
            "notes",
        ),
        row(*["---"] * 11),
    ]
    for key in order:
        c = BY_KEY[key]
        samples = results.get(key, [])
        good = [x for x in samples if x.ok]
        secs = [x.seconds for x in good if x.seconds is not None]
        cpu = med([x.cpu_s for x in good if x.cpu_s is not None])
        oth = med([x.other_pct for x in good if x.other_pct is not None])
        x_loop = fmt_ratio(*ratio(results, key, "loop")) if key in COLD_RUN_ROWS else "-"
        x_base = (
            f"{fmt_ratio(*ratio(results, key, c.baseline))} `{c.baseline}`" if c.baseline else "-"
        )
        lines.append(
            row(
                f"{c.label} (`{key}`)",
                c.runs,
                f"{len(good)}/{len(samples)}",
                f"**{fmt_s(med(secs))}**",
                fmt_s(min(secs) if secs else None),
                fmt_s(max(secs) if secs else None),
                fmt_s(cpu),
                "-" if oth is None else f"{oth:.0f}",
                x_loop,
                x_base,
                "; ".join(row_notes(key, samples)),
            )
        )
    for key, why in skipped.items():
        c = BY_KEY[key]
        lines.append(row(f"{c.label} (`{key}`)", c.runs, "skipped", *["-"] * 7, why))
    lines += [
        "",
        "Ratios are median/median; brackets give the range of the per-round ratios (both rows "
        "timed in the same round, minutes apart). CPU s is user+sys of the command and all its "
        "reaped descendants (kernels included): less sensitive to other load than wall time.",
    ]
    return lines


def goal_table(results: dict[str, list[Sample]], skipped: dict[str, str]) -> list[str]:
    lines = ["## Goals", "", row("goal", "target", "measured", "met?"), row(*["---"] * 4)]
    for label, key, base, limit in GOALS:
        target = f"<= {limit:.2f}x" + (" with 0 kernels" if key == "wk-warm" else "")
        if key not in results or base not in results:
            why = skipped.get(key) or skipped.get(base) or "not selected in this run"
            lines.append(row(label, target, "-", f"n/a ({why})"))
            continue
        r, pairs = ratio(results, key, base)
        if r is None:
            lines.append(row(label, target, "-", "no (a contender failed)"))
            continue
        failed = any(not x.ok for x in results[key] + results[base])
        met = "yes" if r <= limit and not failed else "no"
        measured = f"{fmt_ratio(r, pairs)} `{key}` / `{base}`"
        if key == "wk-warm":
            ks = [x.extras.get("kernels_started") for x in results[key]]
            measured += f", kernels_started {ks}"
            if any(k != 0 for k in ks):
                met = "no"
        if failed:
            met += " (a contender failed in some round)"
        lines.append(row(label, target, measured, met))
    label = "peak RSS of the workshopkit process in a cold run (kernels excluded; 50 ms samples)"
    rss = [
        x.extras["rss_main"] / MIB
        for x in ok_samples(results, "wk-cold")
        if x.extras.get("rss_main")
    ]
    if rss:
        met = "yes" if max(rss) < RSS_GOAL_MIB else "no"
        lines.append(
            row(
                label,
                f"< {RSS_GOAL_MIB} MiB",
                f"{statistics.median(rss):.0f} MiB median, {max(rss):.0f} max",
                met,
            )
        )
    else:
        lines.append(row(label, f"< {RSS_GOAL_MIB} MiB", "-", "n/a"))
    lines += [
        "",
        "Reference, `reference/dependencies.md` §3b (2026-11-23, same workload, in-process "
        "papermill/nbclient): one-by-one loop 35.7 s; papermill threads x2 18.4, x3 14.1; "
        "ProcessPool(2) 20.0; nbclient asyncio 2 kernels 18.9, 3 kernels 14.8; noise about +-15%.",
    ]
    return lines


def render(
    s: Session,
    results: dict[str, list[Sample]],
    skipped: dict[str, str],
    order: list[str],
    started: dt.datetime,
    took: float,
) -> str:
    parts = [
        header_lines(s, results, order, started, took),
        time_table(results, skipped, order),
        goal_table(results, skipped),
    ]
    return "\n\n".join("\n".join(p) for p in parts) + "\n"


# --------------------------------------------------------------------------------------------


def select(only: list[str] | None) -> list[str]:
    if not only:
        return [c.key for c in CONTENDERS]
    wanted: set[str] = set()
    for token in (t.strip() for item in only for t in item.split(",")):
        if not token:
            continue
        hits = {c.key for c in CONTENDERS if token == c.key or token in c.groups}
        if not hits:
            groups = sorted({g for c in CONTENDERS for g in c.groups})
            raise SystemExit(
                f"--only: unknown contender or group {token!r}; groups: {', '.join(groups)}; "
                f"contenders: {', '.join(BY_KEY)}"
            )
        wanted |= hits
    return [c.key for c in CONTENDERS if c.key in wanted]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    global N_LESSONS
    # Ctrl-C or SIGTERM: end the timed command (its own session) and report the rounds done so far.
    # A shell starting this in the background may have set SIGINT to "ignore"; undo that.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--quick", action="store_true", help="one round, a smoke test")
    ap.add_argument(
        "--only",
        action="append",
        metavar="KEYS",
        help="comma-separated groups (run, build, slides, peers, workshopkit) or contender keys "
        f"({', '.join(BY_KEY)}); repeatable",
    )
    ap.add_argument(
        "--output",
        type=Path,
        help="where to write the Markdown report "
        "(default benchmarks/RESULTS.md; _work/RESULTS-quick.md with --quick)",
    )
    ap.add_argument("--workdir", help="work folder (default benchmarks/_work/bench-<timestamp>)")
    ap.add_argument(
        "--lessons",
        type=int,
        default=N_LESSONS,
        help=f"lessons in the workload (default {N_LESSONS})",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument(
        "--timeout", type=float, default=1200, help="seconds before one timed command is killed"
    )
    args = ap.parse_args()
    N_LESSONS = args.lessons
    if args.quick:
        args.rounds = 1
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    output = args.output or (
        HERE / "_work" / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md"
    )

    selected = select(args.only)
    started = dt.datetime.now(dt.timezone.utc)
    t_start = time.perf_counter()
    s = Session(args)
    skipped: dict[str, str] = {}
    order: list[str] = []
    for key in selected:
        why = BY_KEY[key].available(s)
        if why:
            skipped[key] = why
            log(f"skipping {key}: {why}")
        else:
            order.append(key)
    log(f"work folder {s.work}; {args.rounds} round(s) of: {', '.join(order) or '(nothing)'}")
    s.make_pristine()

    results: dict[str, list[Sample]] = {k: [] for k in order}
    try:
        for r in range(args.rounds):
            for key in order:
                log(f"[round {r + 1}/{args.rounds}] {key} ...")
                try:
                    sample = BY_KEY[key].fn(s, r)
                except Failed as exc:
                    sample = Sample(r, error=str(exc))
                if sample.ok:
                    extra = "".join(
                        f" {k}={v / MIB:.0f}MiB" if k.startswith("rss") else f" {k}={v}"
                        for k, v in sample.extras.items()
                        if v is not None
                    )
                    log(
                        f"    {sample.seconds:.2f} s  cpu {sample.cpu_s:.1f} s  other load "
                        f"{sample.other_pct:.0f}%  load1 {sample.load1:.1f}{extra}"
                    )
                else:
                    log(f"    FAILED: {sample.error}")
                results[key].append(sample)
            if any(not v[-1].ok for v in results.values() if v):
                args.keep = True  # keep the evidence
            if not args.keep:  # this round's copies are no longer needed
                for d in s.work.glob(f"r{r}-*"):
                    if d.is_dir():
                        shutil.rmtree(d, ignore_errors=True)
                    else:
                        d.unlink()
    except KeyboardInterrupt:
        log("interrupted: reporting the rounds done so far")

    elapsed = time.perf_counter() - t_start
    report = render(s, results, skipped, order, started, elapsed)
    print(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report + "\n", encoding="utf-8")
    log(f"wrote {output} ({elapsed / 60:.1f} min)")
    if not args.keep:
        shutil.rmtree(s.work, ignore_errors=True)
    else:
        log(f"kept {s.work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
