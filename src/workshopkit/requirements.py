"""The requirements cross-check (`check`): what the lessons import against what the workshop's
requirements file installs.

Warnings (errors under `--strict`):

- an import that no requirement provides, at the lesson's `path:line` of its first import, naming
  the requirements file and the distribution to add (pinned to the version installed here);
- a requirement without an exact version (`==`, `===` or a URL), at its `requirements.txt:line`;
- lessons importing third-party modules while `workshop.toml` names no requirements file.

An unreadable requirements file, a line pip could not parse, or an `-r` file that is missing is an
error (pip would stop there too).

What counts as provided:

- the standard library (`sys.stdlib_module_names`) and `__future__`;
- a module shipped beside the lesson (`helpers.py`, a `helpers/` package), or written by the
  lesson itself (`%%writefile helpers.py`);
- what a requirement installs: import names map to distributions the way
  `importlib.metadata.packages_distributions()` maps the packages installed here, then through a
  table of well-known names that differ (`sklearn` -> `scikit-learn`, `cv2` -> `opencv-python`),
  then by name (`import requests` -> `requests`);
- what the install command adds itself: JupyterLab and the kernel (`IPython`, `ipykernel`, ...).

A dependency of a requirement does not count: `import numpy` with only `pandas` listed is
reported, because the version attendees get is then whatever pandas allows.

Which imports count: every `import` and `from ... import` in a code cell, at any depth, except
relative imports and imports inside a `try` whose handlers catch `ImportError`,
`ModuleNotFoundError` or `Exception` (an optional import with a fallback). IPython syntax
(`%pip`, `!pip`, `x = !ls`, `%%bash` cells) is not Python and is ignored; a cell Python cannot
parse is skipped.

Requirements files are read as pip reads them: comments, blank lines, `\\` continuations,
`-r`/`--requirement` (relative to the file), `-c` constraints (they install nothing), option lines
(`--index-url`, `--extra-index-url`, `--find-links`, `--pre`, `--hash`, ...), `-e`/URL lines
(`name @ https://...`, `...#egg=name`, `pkg-1.0-py3-none-any.whl`), extras and markers.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .model import Diagnostic, Lesson, Severity, WorkshopConfig

__all__ = [
    "KNOWN_IMPORTS",
    "ImportSite",
    "Requirement",
    "RequirementsFile",
    "lesson_imports",
    "read_requirements",
    "requirements_diagnostics",
]

# Import names whose distribution has another name (the ones people trip over).
KNOWN_IMPORTS: Mapping[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn",),
    "skimage": ("scikit-image",),
    "cv2": ("opencv-python", "opencv-python-headless", "opencv-contrib-python"),
    "PIL": ("Pillow",),
    "yaml": ("PyYAML",),
    "bs4": ("beautifulsoup4",),
    "dateutil": ("python-dateutil",),
    "dotenv": ("python-dotenv",),
    "jwt": ("PyJWT",),
    "attr": ("attrs",),
    "google.protobuf": ("protobuf",),
    "serial": ("pyserial",),
    "Crypto": ("pycryptodome",),
    "OpenSSL": ("pyOpenSSL",),
    "magic": ("python-magic",),
    "docx": ("python-docx",),
    "pptx": ("python-pptx",),
    "fitz": ("PyMuPDF",),
    "osgeo": ("GDAL",),
    "mpl_toolkits": ("matplotlib",),
    "pylab": ("matplotlib",),
    "tensorflow_datasets": ("tensorflow-datasets",),
    "torchvision": ("torchvision",),
    "Bio": ("biopython",),
    "git": ("GitPython",),
    "zmq": ("pyzmq",),
    "sentence_transformers": ("sentence-transformers",),
    "umap": ("umap-learn",),
    "hdbscan": ("hdbscan",),
    "lightgbm": ("lightgbm",),
    "pkg_resources": ("setuptools",),
    "setuptools": ("setuptools",),
}
# What `pip install -r requirements.txt jupyterlab` brings without listing it: the kernel.
JUPYTER_PROVIDED = frozenset(
    {
        "IPython",
        "ipykernel",
        "jupyter_client",
        "jupyter_core",
        "traitlets",
        "matplotlib_inline",
        "comm",
        "jupyterlab",
        "google.colab",  # Colab's own module, only imported there (guarded by the caller)
    }
)
OPTIONAL_HANDLERS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3"})
OPTION_WITH_VALUE = re.compile(
    r"^(-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host|--no-binary"
    r"|--only-binary|--prefer-binary|--pre|--no-index|--use-feature|--require-hashes"
    r"|--progress-bar|--config-settings|--global-option|--hash)\b"
)


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement line: the distribution's normalised name, where it is, and its pin."""

    name: str  # normalised (PEP 503): "scikit-learn"
    path: str  # the requirements file, relative to the workshop root
    line: int
    text: str  # as written, without comment
    pinned: bool


@dataclass(frozen=True, slots=True)
class RequirementsFile:
    requirements: tuple[Requirement, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.requirements)

    def install_args(self) -> tuple[str, ...]:
        """Each requirement as pip takes it on a command line, in file order."""
        return tuple(dict.fromkeys(r.text for r in self.requirements))


@dataclass(frozen=True, slots=True)
class ImportSite:
    """A top-level module a lesson imports, at the line of its first import."""

    module: str  # "sklearn"; "google.colab" for namespace packages in the table
    line: int  # in the lesson's .py file


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------------------------
# Reading requirements files


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each logical line: continuations joined, comments gone."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined:
            yield start, joined
    if pending and (joined := " ".join(p.strip() for p in pending).strip()):
        yield start, joined


def _name_from_url(url: str) -> str | None:
    """The distribution named by a URL or path line: `#egg=name`, or a wheel/sdist file name."""
    egg = re.search(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)", url)
    if egg:
        return egg.group(1)
    last = url.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    wheel = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._]*)-[^-]+(-[^-]+)?-[^-]+-[^-]+-[^-]+\.whl", last)
    if wheel:
        return wheel.group(1)
    sdist = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*?)-\d[^/]*\.(tar\.gz|zip|tar\.bz2)", last)
    return sdist.group(1) if sdist else None


def _parse_line(text: str, where: str, number: int) -> tuple[Requirement | None, Diagnostic | None]:
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Parsed

    text = re.split(r"\s--hash[=\s]", text, maxsplit=1)[0].strip()
    editable = re.match(r"^(-e|--editable)\s+(.*)$", text)
    if editable or re.match(r"^(https?|file|git\+\w+)://|^\.{0,2}/|\.whl$", text):
        url = editable.group(2) if editable else text
        name = _name_from_url(url)
        if name is None:
            message = f"cannot tell which distribution {url!r} installs (add '#egg=NAME')"
            return None, Diagnostic(where, number, Severity.WARNING, message)
        return Requirement(normalise(name), where, number, text, True), None
    try:
        parsed = Parsed(text)
    except InvalidRequirement as exc:
        message = f"pip cannot read this requirement: {exc}"
        return None, Diagnostic(where, number, Severity.ERROR, message)
    pinned = parsed.url is not None or any(s.operator in {"==", "==="} for s in parsed.specifier)
    pinned = pinned and not any("*" in s.version for s in parsed.specifier)
    return Requirement(normalise(parsed.name), where, number, text, pinned), None


def read_requirements(path: Path, root: Path) -> RequirementsFile:
    """Every requirement of `path` and the files it includes with `-r`, with the problems found."""
    requirements: list[Requirement] = []
    diagnostics: list[Diagnostic] = []
    _read_into(path, root, requirements, diagnostics, seen=set())
    return RequirementsFile(tuple(requirements), tuple(diagnostics))


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _read_into(
    path: Path,
    root: Path,
    requirements: list[Requirement],
    diagnostics: list[Diagnostic],
    seen: set[Path],
) -> None:
    where = _relative(path, root)
    seen.add(path.resolve())
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8"
        diagnostics.append(Diagnostic(where, 0, Severity.ERROR, f"cannot read: {reason}"))
        return
    for number, line in _logical_lines(text):
        include = re.match(r"^(-r|--requirement)(?:\s+|=)(.+)$", line)
        if include:
            target = path.parent / include.group(2).strip()
            if not _inside(target, root):
                message = f"-r {include.group(2).strip()}: outside the workshop root (not read)"
                diagnostics.append(Diagnostic(where, number, Severity.ERROR, message))
            elif not target.is_file():
                message = f"-r {include.group(2).strip()}: no such file (next to {path.name})"
                diagnostics.append(Diagnostic(where, number, Severity.ERROR, message))
            elif target.resolve() not in seen:
                _read_into(target, root, requirements, diagnostics, seen)
            continue
        if re.match(r"^(-c|--constraint)(\s|=)", line) or OPTION_WITH_VALUE.match(line):
            continue  # constraints install nothing; options say where from, not what
        requirement, problem = _parse_line(line, where, number)
        if requirement is not None:
            requirements.append(requirement)
        if problem is not None:
            diagnostics.append(problem)


# --------------------------------------------------------------------------------------------
# What lessons import


def _python_source(source: str) -> str | None:
    """A code cell's source with IPython syntax blanked (same line numbers), or None for a cell
    that is not Python (`%%bash`)."""
    lines = source.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split(None, 1)[0] if len(first) > 2 else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        lines[0] = ""
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("%", "!")) or (stripped.endswith("?") and stripped[:1].isalpha()):
            out.append(f"{indent}pass")
        else:
            out.append(re.sub(r"^(\s*[\w.,\s]+=\s*)[!%].*$", r"\1None", line))
    return "\n".join(out)


def _optional(handlers: Iterable[ast.ExceptHandler]) -> bool:
    for handler in handlers:
        kinds = handler.type
        names: list[ast.expr] = []
        if kinds is None:
            return True
        names = list(kinds.elts) if isinstance(kinds, ast.Tuple) else [kinds]
        if any(isinstance(n, ast.Name) and n.id in OPTIONAL_HANDLERS for n in names):
            return True
    return False


def _imports(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """(dotted module, line) of each absolute import outside an optional-import `try`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Try) and _optional(node.handlers):
            stack.extend([*node.handlers, *node.orelse, *node.finalbody])
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.module, node.lineno
        stack.extend(ast.iter_child_nodes(node))


def _top_name(module: str) -> str:
    """ "sklearn" of "sklearn.linear_model"; two parts for a namespace in the tables."""
    parts = module.split(".")
    two = ".".join(parts[:2])
    return two if two in KNOWN_IMPORTS or two in JUPYTER_PROVIDED else parts[0]


@functools.lru_cache(maxsize=4096)
def python_tree(source: str) -> ast.Module | None:
    """A code cell's source parsed as Python, IPython syntax blanked (`_python_source`: same
    line numbers); None for a cell that is not Python or does not parse. Remembered: `check`
    reads a lesson's imports, and a forked kernel's preloads read them again (`forkkernel`).
    The tree is shared: read it, never change it."""
    python = _python_source(source)
    if python is None:
        return None
    try:
        return ast.parse(python)
    except (SyntaxError, ValueError):
        return None


def lesson_imports(lesson: Lesson) -> list[ImportSite]:
    """The top-level modules a lesson's code cells import, each at its first line."""
    first: dict[str, int] = {}
    for cell in lesson.cells:
        if cell.cell_type != "code" or "import" not in cell.source:
            continue
        tree = python_tree(cell.source)
        if tree is None:
            continue
        for module, line in _imports(tree):
            name = _top_name(module)
            at = cell.body_line + line - 1
            if name not in first or at < first[name]:
                first[name] = at
    return [ImportSite(name, line) for name, line in sorted(first.items(), key=lambda x: x[1])]


# --------------------------------------------------------------------------------------------
# The cross-check


@functools.lru_cache(maxsize=1)
def _installed_distributions() -> Mapping[str, tuple[str, ...]]:
    """Import name -> distributions, for what is installed here (importlib.metadata's map)."""
    from importlib.metadata import packages_distributions

    return {k: tuple(v) for k, v in packages_distributions().items()}


@functools.lru_cache(maxsize=1024)
def _installed_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=4096)
def distributions_for(module: str) -> tuple[str, ...]:
    """The distributions that may provide `module` (normalised), most likely first."""
    found = [*KNOWN_IMPORTS.get(module, ())]
    if "." not in module:
        found += _installed_distributions().get(module, ())
    found.append(module)
    return tuple(dict.fromkeys(normalise(d) for d in found))


def written_modules(lesson: Lesson) -> frozenset[str]:
    """Modules a lesson writes itself before importing them (`%%writefile helpers.py`)."""
    found = set()
    for cell in lesson.cells:
        match = re.match(
            r"\s*%%(?:writefile|file)\s+(?:-a\s+)?([\w/.-]+)\.py\s*$", cell.source.split("\n")[0]
        )
        if cell.cell_type == "code" and match:
            found.add(match.group(1).rsplit("/", 1)[-1])
    return frozenset(found)


def _is_builtin(module: str, folder: Path, local: frozenset[str] = frozenset()) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top == "__future__" or module in JUPYTER_PROVIDED:
        return True
    return lessons_own(top, folder, local)


def lessons_own(top: str, folder: Path, local: frozenset[str]) -> bool:
    """Whether the top-level module `top` is the lesson's own: beside it in its `folder`, or
    among the modules it writes (`local`, `written_modules`); its kernel imports that one."""
    return top in local or (folder / f"{top}.py").is_file() or (folder / top).is_dir()


def _provided(module: str, provided: frozenset[str]) -> bool:
    """Whether a requirement in `provided` (normalised names) installs `module`: the names that
    need no look-up first (the table of known names, the module's own name); the map of
    installed distributions, which reads every installed package's metadata (0.1 s, before
    the first kernel of a run can start), only when they do not answer."""
    if not provided:
        return False
    if any(normalise(name) in provided for name in (*KNOWN_IMPORTS.get(module, ()), module)):
        return True
    return not provided.isdisjoint(distributions_for(module))


def _suggestion(module: str) -> str:
    """What to add: the first candidate distribution, pinned to the version installed here."""
    candidates = distributions_for(module)
    for name in candidates:
        installed = _installed_version(name)
        if installed:
            return f"{name}=={installed}"
    return candidates[0]


def requirements_diagnostics(config: WorkshopConfig, lessons: Sequence[Lesson]) -> list[Diagnostic]:
    """Every import no requirement provides, every unpinned requirement (see the module doc)."""
    found = None
    path = config.root / config.requirements if config.requirements else None
    if path is not None and path.is_file() and _inside(path, config.root):
        found = read_requirements(path, config.root)  # outside: config reports it, unread
    out: list[Diagnostic] = list(found.diagnostics) if found else []
    provided = found.names if found else frozenset()
    missing_somewhere: set[str] = set()
    for lesson in lessons:
        local = written_modules(lesson)
        for site in lesson_imports(lesson):
            if _provided(site.module, provided):
                continue  # checked first: set lookups, where the rest asks the file system
            if _is_builtin(site.module, lesson.folder, local):
                continue
            missing_somewhere.add(site.module)
            if found is not None:
                out.append(_missing_import(lesson, site, config.requirements or ""))
    if found is None and missing_somewhere:
        names = ", ".join(sorted(missing_somewhere))
        message = (
            f"the lessons import {names}, but workshop.toml names no 'requirements' file: "
            'attendees cannot know what to install (add requirements = "requirements.txt")'
        )
        out.append(Diagnostic(config.relpath, 1, Severity.WARNING, message))
    for requirement in found.requirements if found else ():
        if not requirement.pinned:
            out.append(_unpinned(requirement))
    return out


def _missing_import(lesson: Lesson, site: ImportSite, requirements: str) -> Diagnostic:
    message = (
        f"'import {site.module}': no requirement in {requirements} provides it; attendees' "
        f"installs will lack it (add {_suggestion(site.module)})"
    )
    return Diagnostic(lesson.relpath, site.line, Severity.WARNING, message)


def _unpinned(requirement: Requirement) -> Diagnostic:
    installed = _installed_version(requirement.name)
    pin = f" (installed here: {requirement.name}=={installed})" if installed else ""
    message = (
        f"requirement {requirement.text!r} is not pinned to one version: attendees may get "
        f"another one than the lessons were tested with{pin}"
    )
    return Diagnostic(requirement.path, requirement.line, Severity.WARNING, message)
