"""`workshopkit serve`: build into a preview folder, serve it, rebuild on each save, reload pages.

```
main thread     first build, then: wait for changes -> rebuild (the BUILD pipeline, lessons and
                pages first: `Preview`) -> publish; once saves pause, the zips and event decks
                (a second pass) -> publish
watcher thread  watchfiles on the workshop; what `Ignored` rejects never triggers a rebuild
server threads  ThreadingHTTPServer on 127.0.0.1: files of the preview folder, and
                /__workshopkit__/events, the server-sent events every served page listens to
```

The preview folder is `<root>/.workshopkit/preview`, claimed, locked and swapped by the same
rules as `build`'s dist/ (build.py); the user's dist/ is never touched. Lessons that fail to
run do not hold back the others: the preview is written without them (`Job.preview`), each
keeping the files of its last good build, so its open deck stays. A build that cannot be
written (an invalid lesson or workshop.toml) leaves the last good preview in place. Either
way the pages show an overlay with each error's `path:line` and message, gone once fixed.

Rebuilds run in the main thread, so Ctrl-C reaches the executor, which kills every kernel (the
same handling as `run`/`build`); the command then exits 130. Edits saved during a rebuild are
queued (`ChangeQueue`) and merged into one more rebuild. The preview folder, `.workshopkit/`,
`dist/`, hidden files and folders, `__pycache__` and editor temporary files are ignored, so a
build never triggers another.

The reload script is the only thing added to pages, and only to the responses of this server
(`inject`): the built files stay as `build` writes them. The pages' Content-Security-Policy
`<meta>` is rewritten in the response to allow that one script by its hash and its connection to
this server ('self'); nothing else is loosened. A page reloads only when a file it shows changed
(`BuildState.stale`: the page itself, or a file that is not a page, notebook or zip). A deck
reloads on the slide it showed: the decks keep the slide in the URL hash (reveal.js `history`),
which a reload keeps; other pages get their scroll position back. Files other than pages are
sent with an ETag and `no-cache`, so a reload revalidates a deck's scripts and stylesheets
instead of fetching them again; pages carry their build and are never kept. Only visible
pages hold an event stream (a browser opens at most six connections to one server); a hidden
tab reconnects, and reloads if what it shows changed, when it is shown again.

Requests are mapped to files by `resolve_request`: percent-decoded once, then refused if they
hold a NUL, a backslash, an empty, `.` or `..` part, and refused if the real path (symlinks
resolved) leaves the preview folder. A request whose Host is not the address served is refused
(a DNS-rebinding page cannot read the preview).

This module imports no web or watch library at import time; cli.py imports it only inside the
`serve` command.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qs, unquote, urlsplit

from .config import CONFIG_NAME, find_root
from .errors import WorkshopkitError
from .lessonfiles import ignored_folder
from .model import Status

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from .pipeline import Outcome

__all__ = [
    "EVENTS_PATH",
    "PREVIEW",
    "BuildState",
    "ChangeQueue",
    "Ignored",
    "Published",
    "ServeOptions",
    "errors_of",
    "inject",
    "make_server",
    "patch_csp",
    "reload_script",
    "resolve_request",
    "serve",
]

STATE_DIR = ".workshopkit"
PREVIEW = "preview"  # <root>/.workshopkit/preview
EVENTS_PATH = "/__workshopkit__/events"
KEEPALIVE_SECONDS = 15.0
SWAP_WAIT = 0.5  # seconds a request waits for the preview folder while a build swaps it
# A save that truncates a file, then writes it (in place, as some editors and `>` do), can be
# seen between the two on a busy machine: a change that leaves a file empty waits this long,
# once, for the write that follows, instead of building a workshop with an empty file.
EMPTIED_WAIT = 0.25

# --------------------------------------------------------------------------------------------
# What never triggers a rebuild

# Editors' temporary and backup files (hidden files, `.#x` and `.x.swp` included, are ignored
# as a whole): vim (`x~`, `4913`, `x.swp`), emacs (`#x#`), JetBrains (`x___jb_tmp___`), kate and
# others (`x.tmp`, `x.bak`, `x.orig`), Office-style locks (`~$x`), flycheck copies.
_TEMP_FILE = re.compile(
    r"(~$|^~\$|^#.*#$|^4913$|\.sw[a-p]$|___jb_(tmp|old|bak)___$|\.(tmp|bak|orig|crdownload|part)$"
    r"|^flycheck_|\.py[cod]$)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Ignored:
    """Which changed paths under `root` do not trigger a rebuild: anything outside the root,
    in a folder that holds no lesson file (hidden ones such as `.workshopkit/` and `.git/`,
    `dist/`, `dist.*`, `build/`, `__pycache__`, ... as `lessonfiles.ignored_folder` says), in
    the extra folders given (an `-o` output, say), hidden files and editor temporary files."""

    root: Path
    extra: tuple[Path, ...] = ()

    def __call__(self, change: object, path: str) -> bool:
        """The `watch_filter` of watchfiles: True when the change should trigger a rebuild."""
        return self.wanted(path)

    def wanted(self, path: str | Path) -> bool:
        candidate = Path(os.path.normpath(Path(path).absolute()))
        for folder in self.extra:
            if candidate == folder or folder in candidate.parents:
                return False
        try:
            parts = candidate.relative_to(self.root).parts
        except ValueError:
            return False
        if not parts:
            return False
        *folders, name = parts
        if any(ignored_folder(folder) for folder in folders):
            return False
        return not (name.startswith(".") or _TEMP_FILE.search(name) or name == "__pycache__")


# --------------------------------------------------------------------------------------------
# Changes saved while a rebuild runs: merged into one more rebuild


class ChangeQueue:
    """Paths changed since the last `take`, from the watcher thread to the build loop."""

    def __init__(self) -> None:
        self._changes: dict[str, set[str]] = {}  # path -> "added", "modified", "deleted"
        self._ready = threading.Condition()

    def put(self, changes: Iterable[tuple[str, str]]) -> None:
        """Record `(kind, path)` pairs, kind being "added", "modified" or "deleted"."""
        with self._ready:
            for kind, path in changes:
                self._changes.setdefault(path, set()).add(kind)
            if self._changes:
                self._ready.notify_all()

    def pending(self) -> bool:
        """Whether a change came since the last `take`."""
        with self._ready:
            return bool(self._changes)

    def take(self, timeout: float | None = None, settle: float = 0.0) -> frozenset[str]:
        """Every path changed since the last call, at once; empty after `timeout` seconds
        without a change, or when every change was a file made and removed again (an editor's
        or `sed -i`'s temporary file).

        Once a change is there, wait until none came for `settle` seconds: an editor's save
        (temporary file, rename, touch) and a multi-file save are one rebuild. A change that
        left a file empty waits up to `EMPTIED_WAIT` more, once, for its write."""
        deadline = None if timeout is None else time.monotonic() + timeout
        patient = False
        with self._ready:
            while True:
                while not self._changes:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return frozenset()
                    self._ready.wait(0.5 if left is None else min(left, 0.5))  # Ctrl-C gets in
                seen = sum(map(len, self._changes.values()))
                while settle > 0:
                    self._ready.wait(settle)
                    now = sum(map(len, self._changes.values()))
                    if now == seen:
                        break
                    seen = now
                taken = frozenset(
                    path
                    for path, kinds in self._changes.items()
                    if not ({"added", "deleted"} <= kinds and not os.path.lexists(path))
                )
                self._changes.clear()
                if taken and not patient and any(_emptied(path) for path in taken):
                    patient = True
                    for path in taken:
                        self._changes.setdefault(path, set()).add("modified")
                    self._ready.wait(EMPTIED_WAIT)  # woken early by the write's own change
                    continue
                if taken:
                    return taken


def _emptied(path: str) -> bool:
    """Whether `path` is now an empty regular file."""
    try:
        info = Path(path).stat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == 0


# --------------------------------------------------------------------------------------------
# What the pages are told: the last good build, and the errors of the last build


@dataclass(frozen=True, slots=True)
class Published:
    build: int  # increases with each build swapped into the preview folder (0: none yet)
    building: bool
    errors: tuple[tuple[str, int, str], ...]  # (path, line, message) of the last build
    title: str = ""  # the overlay's first line: what the pages show, given the errors

    def to_json(self, *, reload: bool = False) -> str:
        return json.dumps(
            {
                "build": self.build,
                "building": self.building,
                "errors": [{"path": p, "line": n, "message": m} for p, n, m in self.errors],
                "title": self.title,
                "reload": reload,
            }
        )


class BuildState:
    """Shared between the build loop (writer) and the event streams (readers)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._version = 0
        self._state = Published(0, True, ())
        self._files: dict[str, str] = {}  # path in the preview -> SHA-256, of the last build
        self._changed_at: dict[str, int] = {}  # path -> the build that last changed it
        self.closing = False

    @property
    def current(self) -> Published:
        with self._changed:
            return self._state

    def publish(self, state: Published, files: Mapping[str, str] | None = None) -> None:
        """Tell the pages; `files` (path -> SHA-256) is what the build `state.build` wrote."""
        with self._changed:
            if files is not None:
                for path in self._files.keys() | files.keys():
                    if self._files.get(path) != files.get(path):
                        self._changed_at[path] = state.build
                self._files = dict(files)
            self._state = state
            self._version += 1
            self._changed.notify_all()

    def stale(self, page: str | None, since: int) -> bool:
        """Whether a page (its path in the preview) served from build `since` shows something
        a later build changed: the page itself, or a file a page may embed (a stylesheet, a
        script, an image: anything but another page, a notebook, a zip or SHA256SUMS). A page
        that is not a file of the build (a placeholder, a 404) is stale after any new build."""
        with self._changed:
            if since >= self._state.build:
                return False
            changed = [path for path, build in self._changed_at.items() if build > since]
            if page is None or page not in self._files:
                return True
            return any(path == page or _embeddable(path) for path in changed)

    def close(self) -> None:
        with self._changed:
            self.closing = True
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> tuple[int, Published]:
        """The version and state once the version is not `seen` (or after `timeout`)."""
        with self._changed:
            if self._version == seen and not self.closing:
                self._changed.wait(timeout)
            return self._version, self._state


_NOT_EMBEDDED = (".html", ".htm", ".ipynb", ".zip")


def _embeddable(path: str) -> bool:
    """Whether a file of the preview may be part of how a page looks (module doc)."""
    return not path.lower().endswith(_NOT_EMBEDDED) and path != "SHA256SUMS"


def errors_of(outcome: Outcome) -> tuple[tuple[str, int, str], ...]:
    """Every error of a build, each with the file and line it is about: validation errors, a
    failing lesson (the line of its failing cell), broken event rules, what stopped the build."""
    found: list[tuple[str, int, str]] = []
    for diagnostic in (*outcome.diagnostics, *outcome.rule_breaks):
        if diagnostic.is_error:
            found.append((diagnostic.path, diagnostic.line, diagnostic.message))
    for result in outcome.results:
        if result.status is Status.FAILED:
            error = result.error
            if error is None:
                found.append((result.path, 0, "the lesson failed"))
                continue
            cell = f" (cell {error.cell})" if error.cell else ""
            message = f"{error.ename}: {error.evalue}".strip(": ")
            found.append((error.path or result.path, error.line, f"{message}{cell}"))
    stopped = outcome.error
    if stopped is not None and not getattr(stopped, "diagnostics", None):
        found.append((stopped.path or "", stopped.line, stopped.message))
    return tuple(dict.fromkeys(found))


def overlay_title(outcome: Outcome) -> str:
    """What the pages show, in the words of the overlay's first line."""
    if not outcome.written:
        return "the last build failed; this page is from the last good build"
    lessons = "1 lesson" if outcome.failed == 1 else f"{outcome.failed} lessons"
    return (
        f"{lessons} failed to run (each shows its last good build, if any); the rest is up to date"
    )


# --------------------------------------------------------------------------------------------
# The page side: the reload script and the Content-Security-Policy that lets it run

_SCRIPT = """
(function () {
  var BUILD = __BUILD__;
  var KEY = "workshopkit-scroll:" + location.pathname;
  var saved = sessionStorage.getItem(KEY);
  if (saved !== null) {
    sessionStorage.removeItem(KEY);
    window.addEventListener("load", function () { window.scrollTo(0, Number(saved)); });
  }
  var overlay = null;
  function hide() {
    if (overlay) { overlay.remove(); overlay = null; }
  }
  function show(state) {
    hide();
    if (!state.errors.length || !document.body) { return; }
    overlay = document.createElement("div");
    overlay.id = "workshopkit-overlay";
    overlay.setAttribute("role", "alert");
    Object.assign(overlay.style, {
      position: "fixed", left: "0", right: "0", bottom: "0", maxHeight: "60%",
      overflow: "auto", zIndex: "2147483647", background: "#2b0b0b", color: "#ffdede",
      font: "14px/1.45 ui-monospace, Menlo, Consolas, monospace", padding: "12px 16px",
      borderTop: "4px solid #e5484d", whiteSpace: "pre-wrap", textAlign: "left"
    });
    var title = document.createElement("div");
    title.textContent = "workshopkit: " + state.title;
    Object.assign(title.style, { fontWeight: "bold", marginBottom: "6px" });
    overlay.appendChild(title);
    state.errors.forEach(function (error) {
      var line = document.createElement("div");
      line.className = "workshopkit-error";
      var where = error.line ? error.path + ":" + error.line : error.path;
      line.textContent = (where ? where + ": " : "") + error.message;
      overlay.appendChild(line);
    });
    overlay.addEventListener("click", hide);
    document.body.appendChild(overlay);
  }
  var badge = null;
  function building(on) {
    if (!on) { if (badge) { badge.remove(); badge = null; } return; }
    if (badge || !document.body) { return; }
    badge = document.createElement("div");
    badge.id = "workshopkit-building";
    badge.textContent = "rebuilding\\u2026";
    Object.assign(badge.style, {
      position: "fixed", right: "8px", top: "8px", zIndex: "2147483647",
      background: "#1f2937", color: "#f9fafb", font: "12px/1.4 system-ui, sans-serif",
      padding: "3px 8px", borderRadius: "4px", opacity: "0.85", pointerEvents: "none"
    });
    document.body.appendChild(badge);
  }
  // One stream per visible page: a browser opens at most 6 connections to a server, so a
  // hidden tab lets go of its stream, and catches up (reloads if needed) when shown again.
  var source = null;
  function connect() {
    if (source) { return; }
    source = new EventSource("__EVENTS__?build=" + BUILD +
      "&page=" + encodeURIComponent(location.pathname));
    source.addEventListener("status", function (message) {
      var state = JSON.parse(message.data);
      if (state.reload && !state.building) {  // a file this page shows changed
        disconnect();
        sessionStorage.setItem(KEY, String(window.scrollY));
        location.reload();  // a deck keeps its slide: reveal.js holds it in the URL hash
        return;
      }
      building(state.building);
      if (!state.building) { show(state); }
    });
  }
  function disconnect() {
    if (source) { source.close(); source = null; }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { disconnect(); } else { connect(); }
  });
  if (document.visibilityState !== "hidden") { connect(); }
})();
"""


def reload_script(build: int) -> str:
    return _SCRIPT.replace("__BUILD__", str(build)).replace("__EVENTS__", EVENTS_PATH)


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def patch_csp(policy: str, script: str) -> str:
    """`policy` allowing one more inline script (by hash) and connections to this server.

    `script-src` gets the hash (made from `default-src` when absent, so the page's own scripts
    keep what they had); `connect-src` gets 'self'. A `'none'` next to what is added goes."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words and words[0].lower() not in directives:
            directives[words[0].lower()] = words[1:]
    default = directives.get("default-src", [])
    for name, source in (("script-src", script_hash(script)), ("connect-src", "'self'")):
        values = list(directives.get(name, default))
        values = [v for v in values if v.lower() != "'none'"]
        if source not in values:
            values.append(source)
        directives[name] = values
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_CSP_EQUIV = re.compile(
    r"""http-equiv\s*=\s*(["']?)content-security-policy\1(?=[\s/>])""", re.IGNORECASE
)
_CONTENT = re.compile(r"""\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


def inject(page: bytes, build: int) -> bytes:
    """The HTML `page` with the reload script before `</body>` (or at the end) and each CSP
    `<meta>` allowing it. Only for responses: the files on disk are never changed."""
    script = reload_script(build)
    text = page.decode("utf-8", errors="surrogateescape")

    def patched(match: re.Match[str]) -> str:
        tag = match.group(0)
        if not _CSP_EQUIV.search(tag):
            return tag
        content = _CONTENT.search(tag)
        if content is None:
            return tag
        policy = html.unescape(
            content.group(1) if content.group(1) is not None else content.group(2)
        )
        new = f'content="{html.escape(patch_csp(policy, script), quote=True)}"'
        return tag[: content.start()] + new + tag[content.end() :]

    head_end = text.lower().find("<body")
    head, body = (text[:head_end], text[head_end:]) if head_end >= 0 else (text, "")
    data = (_META.sub(patched, head) + body).encode("utf-8", errors="surrogateescape")
    tag = f"<script>{script}</script>\n".encode()
    ends = list(_BODY_END.finditer(data))
    if ends:
        at = ends[-1].start()
        return data[:at] + tag + data[at:]
    return data + tag


# --------------------------------------------------------------------------------------------
# The server: files of the preview folder only


def resolve_request(root: Path, target: str) -> Path | None:
    """The file or folder under `root` a request target names, or None when it must not be
    served: not an absolute path, not valid UTF-8 once decoded, a NUL or a backslash, an empty,
    `.` or `..` part (decoded once: `%2e%2e` is `..`), or a real path outside `root`."""
    path = urlsplit(target).path
    if not path.startswith("/"):
        return None
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = decoded.split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()  # a folder, with its trailing slash
    if any(part in ("", ".", "..") for part in parts):
        return None
    if PurePosixPath(*parts).is_absolute() if parts else False:
        return None
    try:
        real_root = Path(os.path.realpath(root))
        real = Path(os.path.realpath(real_root.joinpath(*parts)))
    except (OSError, ValueError):
        return None
    if real != real_root and real_root not in real.parents:
        return None
    return real


_PLACEHOLDER = (
    "<!doctype html><html><head><meta charset='utf-8'><title>workshopkit preview</title>"
    "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\"></head>"
    "<body><h1>{title}</h1><p>{text}</p></body></html>"
)


def _placeholder(title: str, text: str) -> bytes:
    return _PLACEHOLDER.format(title=html.escape(title), text=html.escape(text)).encode()


@dataclass(frozen=True, slots=True)
class _Site:
    """What every request of one server is answered from: the preview folder, the state of
    the builds, and the address served (`loopback`: only names of this machine may reach it)."""

    folder: Path
    state: BuildState
    host: str
    loopback: bool


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_ok(handler: BaseHTTPRequestHandler, site: _Site) -> bool:
    """The request's Host names the address served (DNS rebinding: module doc)."""
    if not site.loopback:
        return True  # --host chose another interface: any name may reach it
    given = (handler.headers.get("Host") or "").strip().lower()
    bound = int(getattr(handler.server, "server_port", 0))
    host = site.host.lower()
    names = {host, f"[{host}]", "localhost", "127.0.0.1", "[::1]"}
    return given in {f"{name}:{bound}" for name in names} | (names if bound == 80 else set())


def _respond(handler: BaseHTTPRequestHandler, site: _Site, *, head: bool) -> None:
    """Answer a GET or HEAD: the event stream, a file of the preview, or why not."""
    if not _host_ok(handler, site):
        _send(handler, 403, b"forbidden: unknown Host\n", "text/plain", head)
        return
    path = urlsplit(handler.path).path
    if path == EVENTS_PATH and not head:
        _events(handler, site.state, *_page_of(urlsplit(handler.path).query))
        return
    target = resolve_request(site.folder, handler.path)
    if target is None:
        _send(handler, 404, b"not found\n", "text/plain", head)
        return
    if target.is_dir():
        if not path.endswith("/"):
            handler.send_response(301)
            handler.send_header("Location", path + "/")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        target = target / "index.html"
    tag = _etag(target)
    if tag is not None and tag in (handler.headers.get("If-None-Match") or ""):
        handler.send_response(304)
        handler.send_header("ETag", tag)
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        return
    code, data, kind = _file_response(site, target, handler.path)
    _send(handler, code, data, kind, head, tag if code == 200 else None)


def _etag(target: Path) -> str | None:
    """The validator of a file that is not a page (pages carry the build they were served from,
    so they are never cached): a browser keeps a deck's scripts and stylesheets across reloads
    and asks whether they changed, instead of fetching them again."""
    import mimetypes

    if (mimetypes.guess_type(target.name)[0] or "") == "text/html":
        return None
    try:
        info = target.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return f'"{info.st_dev:x}-{info.st_ino:x}-{info.st_size:x}-{info.st_mtime_ns:x}"'


def _wait_for_swap(site: _Site) -> None:
    """A build puts the new preview folder in place in two renames (build.swap_into_place): a
    request that comes between them waits for it, up to `SWAP_WAIT`, instead of getting an
    error page (which a page would take for its stylesheet or script). Not before the first
    build: then there is no folder to wait for."""
    if site.state.current.build == 0:
        return
    deadline = time.monotonic() + SWAP_WAIT
    while not site.folder.is_dir() and time.monotonic() < deadline:
        time.sleep(0.005)


def _read(site: _Site, target: Path) -> bytes | None:
    """The file's bytes, once more after a swap if it was gone; None if it is not there."""
    for attempt in range(2):
        try:
            return target.read_bytes()
        except OSError:
            if attempt == 0:
                _wait_for_swap(site)
    return None


def _file_response(site: _Site, target: Path, request: str) -> tuple[int, bytes, str]:
    """(status, body, content type) for the file `target` a request names: its bytes, the
    reload script injected into a page; a placeholder page while there is no preview yet."""
    if not target.is_file() and not site.folder.is_dir():
        _wait_for_swap(site)
    current = site.state.current
    if not target.is_file():
        if not site.folder.is_dir():
            if current.building:
                page = _placeholder("Building the preview…", "this page reloads when it is done")
            else:
                page = _placeholder("No preview yet", "it appears once the errors below are fixed")
            return 503, inject(page, current.build), "text/html"
        return 404, inject(_placeholder("Not found", request), current.build), "text/html"
    import mimetypes

    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    data = _read(site, target)
    if data is None:
        return 404, b"not found\n", "text/plain"
    if kind == "text/html":
        data = inject(data, current.build)
    return 200, data, kind


def _send(
    handler: BaseHTTPRequestHandler,
    code: int,
    data: bytes,
    kind: str,
    head: bool,
    tag: str | None = None,
) -> None:
    handler.send_response(code)
    charset = "; charset=utf-8" if kind.startswith("text/") else ""
    handler.send_header("Content-Type", kind + charset)
    handler.send_header("Content-Length", str(len(data)))
    if tag is None:
        handler.send_header("Cache-Control", "no-store")
    else:  # kept, but asked about each time it is used (`_etag`)
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("ETag", tag)
    handler.send_header("X-Content-Type-Options", "nosniff")
    handler.end_headers()
    if not head:
        with contextlib.suppress(OSError):
            handler.wfile.write(data)


def _page_of(query: str) -> tuple[str | None, int]:
    """(the page's file in the preview, the build it was served from) that the reload script
    of a page gives in its events URL (`?build=N&page=/path`); (None, 0) if it gives none."""
    values = parse_qs(query)
    try:
        since = int(values.get("build", ["0"])[0])
    except ValueError:
        since = 0
    page = values.get("page", [None])[0]
    if page is None or not page.startswith("/"):
        return None, since
    rel = unquote(page).lstrip("/")
    return (rel + "index.html" if rel == "" or rel.endswith("/") else rel), since


def _events(
    handler: BaseHTTPRequestHandler, state: BuildState, page: str | None = None, since: int = 0
) -> None:
    """The server-sent events of one page: the state at once and on each change, a comment
    every KEEPALIVE_SECONDS in between, until the page goes or the server closes. Each state
    says whether this page should reload (`BuildState.stale`: `page`, served from build
    `since`, shows a file that changed)."""
    handler.close_connection = True
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    seen = -1
    try:
        while not state.closing:
            version, current = state.wait(seen, KEEPALIVE_SECONDS)
            if state.closing:
                break
            if version == seen:
                handler.wfile.write(b": keep-alive\n\n")
            else:
                seen = version
                data = current.to_json(reload=state.stale(page, since))
                handler.wfile.write(f"event: status\ndata: {data}\n\n".encode())
            handler.wfile.flush()
    except OSError:
        return  # the page went away


def _handler_class(site: _Site) -> type[BaseHTTPRequestHandler]:
    """The request handler class of one server; made here, not at import time, so that
    importing this module does not import http.server (module doc)."""
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        server_version = "workshopkit-serve"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None  # the terminal shows rebuilds, not requests

        def do_HEAD(self) -> None:
            _respond(self, site, head=True)

        def do_GET(self) -> None:
            _respond(self, site, head=False)

    return Handler


def make_server(
    folder: Path, state: BuildState, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """An HTTP server (not started) for the files of `folder` and the event stream; raises
    OSError when the address cannot be bound."""
    from http.server import ThreadingHTTPServer

    site = _Site(folder, state, host, _is_loopback(host))
    server = ThreadingHTTPServer((host, port), _handler_class(site))
    server.daemon_threads = True
    return server


# --------------------------------------------------------------------------------------------
# The command


@dataclass(frozen=True, slots=True)
class ServeOptions:
    path: Path = field(default_factory=Path)
    host: str = "127.0.0.1"
    port: int = 8000
    open_browser: bool = False
    lesson: str | None = None  # the lesson whose deck to open and print
    # seconds without a new change before a rebuild starts, beyond watchfiles' own 30 ms
    # (`_watching`: it hands over a burst of changes once none came for `step`)
    settle: float = 0.0
    finish_after: float = 0.3  # seconds without a change before a second pass (`Preview`)


def _shown(paths: Iterable[str], root: Path) -> str:
    names = []
    for path in sorted(paths):
        try:
            names.append(str(Path(path).relative_to(root)))
        except ValueError:
            names.append(path)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


@contextlib.contextmanager
def _serving(server: ThreadingHTTPServer, state: BuildState) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, name="workshopkit-serve", daemon=True)
    thread.start()
    try:
        yield
    finally:
        state.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def _watching(root: Path, ignored: Ignored, changes: ChangeQueue) -> Iterator[None]:
    from watchfiles import watch

    stop = threading.Event()

    def loop() -> None:
        for found in watch(
            root,
            watch_filter=ignored,
            stop_event=stop,
            raise_interrupt=False,
            debounce=400,
            step=30,
            rust_timeout=500,
        ):
            changes.put((change.name, path) for change, path in found)

    thread = threading.Thread(target=loop, name="workshopkit-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


class Preview:
    """The build loop: each build runs the BUILD pipeline into the preview folder.

    A rebuild after a save is done in two passes (`export.incremental`, `defer`): the first
    renders the lessons and pages and carries a changed zip or event deck over as it was, and
    the pages reload; the second, run once no save came for `finish_after` seconds, is a plain
    incremental build that brings them up to date (a page reloads only if it shows a file that
    changed: `BuildState.stale`). A save before it makes a new first pass instead; a save
    during it makes it carry what it has not rendered yet over too, so that the save waits for
    one zip or event deck at most."""

    def __init__(
        self,
        root: Path,
        state: BuildState,
        echo: Callable[[str], None],
        saved: Callable[[], bool] = lambda: False,
    ) -> None:
        self.root = root
        self.output = root / STATE_DIR / PREVIEW
        self.state = state
        self.echo = echo
        self.saved = saved  # whether the author saved again (the second pass then stops)
        self.builds = 0  # builds swapped into the preview folder
        self.pending = False  # the last build carried zips or event decks over, stale

    def build(self, trigger: str | None, *, first: bool = False) -> Outcome:
        """One pass (a first pass with `first`); `trigger` None: the second pass, which the
        pages are not told about until it is done."""
        from .pipeline import BUILD, Job, run_pipeline

        current = self.state.current
        if trigger is not None:
            self.state.publish(Published(current.build, True, current.errors, current.title))
            self.echo(f"[{time.strftime('%H:%M:%S')}] {trigger}")
        started = time.monotonic()
        defer = True if first else self.saved  # a save during the second pass: the rest waits
        job = Job(
            self.root,
            output=self.output,
            command="build",
            preview=True,
            defer_slow=defer,
            flushed=False,
        )
        outcome = run_pipeline(BUILD, job)
        seconds = time.monotonic() - started
        errors = errors_of(outcome)
        files = None
        if outcome.written:
            self.builds += 1
            files = _files_of(outcome)
        self.pending = bool(outcome.written and outcome.export and outcome.export.deferred)
        self.state.publish(Published(self.builds, False, errors, overlay_title(outcome)), files)
        self._report(outcome, seconds, trigger is None, errors)
        return outcome

    def _report(
        self,
        outcome: Outcome,
        seconds: float,
        second: bool,
        errors: tuple[tuple[str, int, str], ...],
    ) -> None:
        ran = [r for r in outcome.results if not r.cached and r.status is not Status.SKIPPED]
        stages = ", ".join(f"{name} {took:.1f}" for name, took in outcome.timings if took >= 0.05)
        what = f"{len(ran)} lesson(s) run, {len(outcome.results) - len(ran)} cached; {stages}"
        failed = outcome.failed
        note = f"; {failed} lesson(s) failed, each left as last built well" if failed else ""
        if not outcome.written:
            self.echo(f"  build failed in {seconds:.2f} s; serving the last good build")
        elif second and self.pending:  # the author saved during it
            self.echo(f"  zips and event decks in part in {seconds:.2f} s; the rest comes next")
        elif second:
            self.echo(f"  zips and event decks up to date in {seconds:.2f} s ({stages})")
        elif self.pending:
            self.echo(
                f"  rebuilt in {seconds:.2f} s ({what}){note}; pages reload; "
                "zips and event decks next"
            )
        else:
            self.echo(f"  rebuilt in {seconds:.2f} s ({what}){note}; pages reload")
        for path, line, message in errors:
            where = f"{path}:{line}" if line else path
            self.echo(f"  {where}: error: {message}")


def _files_of(outcome: Outcome) -> dict[str, str]:
    """Path in the preview -> SHA-256, of every file the build's export units wrote."""
    state = outcome.export.state if outcome.export is not None else None
    if state is None:
        return {}
    return {rel: sha for rel, sha in state.file_digests(*state.units)}  # noqa: C416


def _warm_up(echo: Callable[[str], None]) -> None:
    """Render a throw-away deck, so that the first save does not pay for importing nbconvert
    and compiling its templates (a first build from the cache renders nothing). A save during
    it waits for it: it would have paid the same."""
    from .export.slides import warm_up

    try:
        warm_up()
    except Exception as exc:  # a broken install shows at the first deck
        echo(f"  (warming up the slide renderer failed: {exc})")


def _lesson_url(root: Path, lesson_id: str) -> str | None:
    """The deck of lesson `lesson_id` in the preview (`lessons/<id>/<id>.slides.html`, as
    export writes it), as a URL path, if it was built."""
    deck = f"lessons/{lesson_id}/{lesson_id}.slides.html"
    return "/" + deck if (root / STATE_DIR / PREVIEW / deck).is_file() else None


def _check_lesson_id(root: Path, lesson_id: str) -> None:
    """`--lesson ID` names a lesson of the workshop (exit 2 if not); an invalid workshop is
    left to the first build, which shows why."""
    from .pipeline import open_workshop

    opened = open_workshop(root, event_rules=False)
    if opened.workshop is None:
        return
    ids = [lesson.id for lesson in opened.workshop.lessons]
    if lesson_id not in ids:
        raise WorkshopkitError(
            f"--lesson {lesson_id}: no such lesson; the lessons are {', '.join(ids)}"
        )


def _preview_root(options: ServeOptions) -> Path:
    """The workshop's root (resolved) once the preview may be built in it: the preview folder
    is one `build` may own, `--lesson` names a lesson, and `.workshopkit/` exists."""
    from .build import output_problem

    root = find_root(options.path)
    if root is None:
        raise WorkshopkitError(f"no {CONFIG_NAME} in {options.path} or any parent folder")
    root = root.resolve()
    problem = output_problem(root / STATE_DIR / PREVIEW, root, [])
    if problem:
        raise WorkshopkitError(problem)
    if options.lesson:
        _check_lesson_id(root, options.lesson)
    try:
        (root / STATE_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise WorkshopkitError(f"cannot create {root / STATE_DIR}: {exc.strerror}") from None
    return root


def _bind(
    preview: Path, state: BuildState, options: ServeOptions
) -> tuple[ThreadingHTTPServer, str]:
    """The server (bound, not started) and the URL it serves at."""
    try:
        server = make_server(preview, state, options.host, options.port)
    except OSError as exc:
        raise WorkshopkitError(
            f"cannot serve on {options.host}:{options.port}: {exc.strerror}; choose another --port"
        ) from None
    port = int(server.server_address[1])
    shown_host = f"[{options.host}]" if ":" in options.host else options.host
    return server, f"http://{shown_host}:{port}/"


def _lock_preview(
    stack: contextlib.ExitStack[bool | None], root: Path, server: ThreadingHTTPServer
) -> None:
    """Hold the lock of the preview of `root` until `stack` closes: one serve per workshop."""
    from .build import BuildInProgress, BuildLock

    try:
        stack.enter_context(BuildLock(root / STATE_DIR / "serve"))
    except BuildInProgress as exc:
        server.server_close()
        who = f"pid {exc.pid}" if exc.pid else "another process"
        raise WorkshopkitError(
            f"another workshopkit serve ({who}) is previewing {root}; stop it first"
        ) from None


def _first_page(root: Path, url: str, lesson: str | None, echo: Callable[[str], None]) -> str:
    """The URL to print and open: the deck of `--lesson` if it was built, else the index."""
    if not lesson:
        return url
    found = _lesson_url(root, lesson)
    if found is None:
        echo(f"  lesson '{lesson}' has no deck in the preview yet; opening the index")
        return url
    return url.rstrip("/") + found


def serve(options: ServeOptions, echo: Callable[[str], None]) -> NoReturn:
    """Run the preview until Ctrl-C (KeyboardInterrupt propagates: the caller exits 130)."""
    root = _preview_root(options)
    preview = root / STATE_DIR / PREVIEW
    state = BuildState()
    server, url = _bind(preview, state, options)
    with contextlib.ExitStack() as stack:
        _lock_preview(stack, root, server)
        stack.enter_context(_serving(server, state))
        echo(f"serving {root} at {url} (Ctrl-C stops)")
        changes = ChangeQueue()
        loop = Preview(root, state, echo, changes.pending)
        stack.enter_context(_watching(root, Ignored(root, (preview,)), changes))
        loop.build("building the preview")
        page = _first_page(root, url, options.lesson, echo)
        echo(f"preview: {page}")
        if options.open_browser:
            import webbrowser

            webbrowser.open(page)
        _warm_up(echo)
        while True:
            wait = options.finish_after if loop.pending else None
            changed = changes.take(timeout=wait, settle=options.settle)
            if changed:
                loop.build(f"changed: {_shown(changed, root)}; rebuilding", first=True)
            elif loop.pending:
                loop.build(None)
