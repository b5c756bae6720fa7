"""`workshopkit serve`: the watcher's filter, merged rebuilds, path safety on a real server,
the reload script and its CSP, the errors shown, and Ctrl-C with kernels running."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import REPO
from export_scenarios import tree_bytes
from helpers import RESOURCES, cli, kill_marked, mark_env, marked_processes, wait_gone
from serve_support import ServeProcess

from workshopkit.serve import (
    EVENTS_PATH,
    BuildState,
    ChangeQueue,
    Ignored,
    Published,
    _watching,
    errors_of,
    inject,
    make_server,
    patch_csp,
    reload_script,
    resolve_request,
    script_hash,
)

SCENARIO = RESOURCES / "serve_preview"
LESSON = Path("lessons/intro/intro.py")


def workshop(tmp_path: Path) -> Path:
    root = tmp_path / "workshop"
    shutil.copytree(SCENARIO, root)
    return root


# -- what triggers a rebuild -----------------------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    ["lessons/intro/intro.py", "workshop.toml", "lessons/intro/data.csv", "README.md", "x/y/z.txt"],
)
def test_sources_trigger_a_rebuild(tmp_path: Path, rel: str) -> None:
    assert Ignored(tmp_path).wanted(tmp_path / rel)


@pytest.mark.parametrize(
    "rel",
    [
        ".workshopkit/preview/index.html",  # its own output
        ".workshopkit/preview.tmp-12/preview/x.html",
        ".workshopkit/.preview.lock",
        ".workshopkit/cache/intro/abc/lesson.ipynb",
        "dist/index.html",
        "dist.tmp-4/dist/index.html",
        ".dist.lock",
        "lessons/intro/__pycache__/helper.cpython-312.pyc",
        "lessons/intro/helper.pyc",
        ".git/index",
        "lessons/intro/.intro.py.swp",  # vim
        "lessons/intro/.intro.py.swx",
        "lessons/intro/intro.py.swp",
        "lessons/intro/intro.py~",
        "lessons/intro/4913",
        "lessons/intro/#intro.py#",  # emacs
        "lessons/intro/.#intro.py",
        "lessons/intro/intro.py___jb_tmp___",  # JetBrains
        "lessons/intro/intro.py___jb_old___",
        "lessons/intro/intro.py.tmp",
        "lessons/intro/.goutputstream-XYZ1",  # gedit
        "lessons/intro/.DS_Store",
        ".venv/lib/x.py",
        "node_modules/a/b.js",
        "build/html/x.html",
    ],
)
def test_own_output_and_editor_files_never_trigger_a_rebuild(tmp_path: Path, rel: str) -> None:
    assert not Ignored(tmp_path).wanted(tmp_path / rel)


def test_paths_outside_the_workshop_and_extra_folders_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "w"
    ignored = Ignored(root, (root / "out",))
    assert not ignored.wanted(tmp_path / "other.py")
    assert not ignored.wanted(root)
    assert not ignored.wanted(root / "out" / "index.html")
    assert ignored.wanted(root / "outside.py")  # a name that starts like the folder


def test_changes_saved_during_a_rebuild_are_merged_into_one_more() -> None:
    changes = ChangeQueue()
    changes.put([("modified", "/w/a.py")])
    assert changes.take(timeout=1) == {"/w/a.py"}
    # "rebuilding": three saves arrive meanwhile
    changes.put([("modified", "/w/a.py")])
    changes.put([("modified", "/w/b.py"), ("added", "/w/c.csv")])
    changes.put([("modified", "/w/a.py")])
    assert changes.take(timeout=1) == {"/w/a.py", "/w/b.py", "/w/c.csv"}
    assert changes.take(timeout=0.2) == frozenset()  # one rebuild, not three


def test_pending_says_whether_a_save_waits_for_a_rebuild(tmp_path: Path) -> None:
    """What stops serve's second pass from rendering more (`Preview`)."""
    changes = ChangeQueue()
    assert not changes.pending()
    changes.put([("modified", str(tmp_path / "a.py"))])
    assert changes.pending()
    assert changes.take(timeout=1) == {str(tmp_path / "a.py")}
    assert not changes.pending()


def test_a_file_made_and_removed_again_is_no_change(tmp_path: Path) -> None:
    changes = ChangeQueue()
    gone = str(tmp_path / "sedX1b2c3")  # sed -i's temporary file, renamed away
    changes.put([("added", gone), ("modified", gone), ("deleted", gone)])
    assert changes.take(timeout=0.3) == frozenset()
    lesson = tmp_path / "lesson.py"
    lesson.write_text("x")
    changes.put([("added", gone), ("deleted", gone), ("modified", str(lesson))])
    assert changes.take(timeout=0.3) == {str(lesson)}
    changes.put([("deleted", str(tmp_path / "removed.py"))])  # a real deletion counts
    assert changes.take(timeout=0.3) == {str(tmp_path / "removed.py")}


def test_take_waits_for_a_burst_of_saves_to_settle() -> None:
    changes = ChangeQueue()

    def saves() -> None:
        for n in range(5):
            changes.put([("modified", f"/w/{n}.py")])
            time.sleep(0.05)

    writer = threading.Thread(target=saves)
    writer.start()
    taken = changes.take(timeout=5, settle=0.3)
    writer.join()
    assert taken == {f"/w/{n}.py" for n in range(5)}


def test_a_save_caught_between_truncate_and_write_waits_for_the_write(tmp_path: Path) -> None:
    """An in-place save seen after its truncation (a busy machine) is not built empty: the
    take waits for the write, and both are one rebuild; a file left empty on purpose is built
    after that short wait."""
    lesson, other = tmp_path / "lesson.py", tmp_path / "notes.md"
    lesson.write_text("")  # truncated; its write comes 0.1 s later, past the settle time
    changes = ChangeQueue()
    changes.put([("modified", str(lesson))])

    def write() -> None:
        time.sleep(0.1)
        lesson.write_text("# %%\nx = 1\n")
        other.write_text("saved with it")
        changes.put([("modified", str(lesson)), ("added", str(other))])

    writer = threading.Thread(target=write)
    writer.start()
    taken = changes.take(timeout=5, settle=0.03)
    writer.join()
    assert taken == {str(lesson), str(other)} and lesson.read_text() == "# %%\nx = 1\n"

    lesson.write_text("")  # emptied for good: taken once the wait is over
    changes.put([("modified", str(lesson))])
    assert changes.take(timeout=5, settle=0.03) == {str(lesson)}


def test_the_real_watcher_ignores_the_builds_own_output(tmp_path: Path) -> None:
    root = tmp_path / "w"
    (root / ".workshopkit" / "preview").mkdir(parents=True)
    (root / "dist").mkdir()
    (root / "lessons").mkdir()
    changes = ChangeQueue()
    ignored = Ignored(root, (root / ".workshopkit" / "preview",))
    with _watching(root, ignored, changes):
        time.sleep(1.0)  # the watcher is set up
        (root / ".workshopkit" / "preview" / "index.html").write_text("built")
        (root / ".workshopkit" / "preview.tmp-1").mkdir()
        (root / "dist" / "index.html").write_text("built")
        (root / "lessons" / "__pycache__").mkdir()
        (root / "lessons" / ".lesson.py.swp").write_text("vim")
        assert changes.take(timeout=1.5) == frozenset()
        (root / "lessons" / "lesson.py").write_text("# %%\n")
        assert changes.take(timeout=10) == {str(root / "lessons" / "lesson.py")}


# -- path safety on a real server --------------------------------------------------------------


@contextlib.contextmanager
def running(folder: Path, state: BuildState) -> Iterator[int]:
    """A real server for `folder` on 127.0.0.1, in a thread: its port; stopped afterwards (the
    state closed first, so that open event streams end)."""
    server = make_server(folder, state, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        state.close()
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """A real server on 127.0.0.1 for `preview/`, beside a secret file and folder."""
    preview = tmp_path / "preview"
    (preview / "lessons" / "a").mkdir(parents=True)
    (preview / "index.html").write_text(
        "<!doctype html><html><head><meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'\"></head>"
        "<body><p>index</p></body></html>"
    )
    (preview / "lessons" / "a" / "notes.txt").write_text("notes")
    (tmp_path / "secret.txt").write_text("SECRET")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key.txt").write_text("SECRET")
    (preview / "out.txt").symlink_to(tmp_path / "secret.txt")
    (preview / "outdir").symlink_to(tmp_path / "secrets")
    (preview / "inside.txt").symlink_to(preview / "lessons" / "a" / "notes.txt")
    with running(preview, BuildState()) as port:
        yield "127.0.0.1", port, preview


def raw_get(host: str, port: int, target: str, host_header: str | None = None) -> tuple[int, bytes]:
    """GET with the request target sent exactly as given (no client-side normalising)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host_header or f'{host}:{port}'}\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(request.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_files_of_the_preview_are_served(served: tuple[str, int, Path]) -> None:
    host, port, _ = served
    assert raw_get(host, port, "/lessons/a/notes.txt") == (200, b"notes")
    assert raw_get(host, port, "/inside.txt") == (200, b"notes")  # a symlink that stays inside
    assert raw_get(host, port, "/lessons/a/notes.txt?x=1#y") == (200, b"notes")
    code, body = raw_get(host, port, "/")
    assert code == 200 and b"<p>index</p>" in body
    assert raw_get(host, port, "/lessons")[0] == 301


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/lessons/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/lessons/a/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2f..%2fsecret.txt",
        "/.%2e/secret.txt",
        "/%252e%252e/secret.txt",  # decoded once only: a literal name, not found
        "/out.txt",  # a symlink pointing out
        "/outdir/key.txt",
        "/outdir/",
        "/..\\secret.txt",
        "/%5c..%5csecret.txt",
        "/..%5csecret.txt",
        "/%00",
        "/index.html%00.txt",
        "/lessons%00/a/notes.txt",
        "//etc/passwd",
        "/etc/passwd",
        "/%2fetc%2fpasswd",
        "/%ff%fe",
        "../secret.txt",
        "secret.txt",
        "http://127.0.0.1/../secret.txt",
        "/lessons/./a/notes.txt",
    ],
)
def test_nothing_outside_the_preview_is_served(served: tuple[str, int, Path], target: str) -> None:
    host, port, preview = served
    code, body = raw_get(host, port, target)
    assert code in (400, 404), (target, code)
    assert b"SECRET" not in body and b"root:" not in body
    resolved = resolve_request(preview, target)  # refused, or a name inside that is not there
    assert resolved is None or (preview.resolve() in resolved.parents and not resolved.exists())


def test_a_request_for_another_host_is_refused(served: tuple[str, int, Path]) -> None:
    """A DNS-rebinding page (evil.example resolving to 127.0.0.1) cannot read the preview."""
    host, port, _ = served
    assert raw_get(host, port, "/lessons/a/notes.txt", f"evil.example:{port}")[0] == 403
    assert raw_get(host, port, "/lessons/a/notes.txt", f"localhost:{port}") == (200, b"notes")


def test_the_event_stream_sends_the_state_and_each_change(tmp_path: Path) -> None:
    state = BuildState()
    with running(tmp_path, state) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", EVENTS_PATH)
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"

        def next_state() -> dict[str, object]:
            lines = []
            while (line := response.readline().decode()) != "\n":
                lines.append(line)
            data = next(x for x in lines if x.startswith("data: "))
            return json.loads(data[len("data: ") :])  # type: ignore[no-any-return]

        assert next_state() == {
            "build": 0,
            "building": True,
            "errors": [],
            "title": "",
            "reload": False,
        }
        state.publish(Published(1, False, (("lessons/a.py", 12, "boom"),), "1 lesson failed"))
        assert next_state() == {
            "build": 1,
            "building": False,
            "errors": [{"path": "lessons/a.py", "line": 12, "message": "boom"}],
            "title": "1 lesson failed",
            "reload": True,  # a stream that names no page reloads on every new build
        }
        conn.close()


DECK = "lessons/a/a.slides.html"
FILES = {
    "index.html": "i1",
    DECK: "d1",
    "lessons/a/a.ipynb": "n1",
    "lessons/a/plot.png": "p1",
    "events/e/e.slides.html": "e1",
    "all.zip": "z1",
    "_static/notebook.css": "c1",
}


def test_a_page_reloads_only_when_a_file_it_shows_changed() -> None:
    state = BuildState()
    state.publish(Published(1, False, ()), FILES)
    assert state.stale(DECK, 0) and state.stale(None, 0)  # served before the first build
    assert not state.stale(DECK, 1) and not state.stale("index.html", 1)
    # the second pass of a save: a zip and an event deck, nothing the lesson's deck shows
    state.publish(
        Published(2, False, ()), {**FILES, "all.zip": "z2", "events/e/e.slides.html": "e2"}
    )
    assert not state.stale(DECK, 1) and not state.stale("index.html", 1)
    assert state.stale("events/e/e.slides.html", 1)
    # the deck itself; then a notebook and a page of another lesson: not the deck's business
    state.publish(Published(3, False, ()), {**FILES, DECK: "d3"})
    assert state.stale(DECK, 2) and state.stale(DECK, 1) and not state.stale("index.html", 2)
    state.publish(Published(4, False, ()), {**FILES, DECK: "d3", "lessons/a/a.ipynb": "n4"})
    assert not state.stale(DECK, 3)
    # what a page may embed (an image, a stylesheet), changed or deleted: every page reloads
    for build, files in enumerate(
        [{**FILES, DECK: "d3", "lessons/a/plot.png": "p5"}, {**FILES, DECK: "d3"}], start=5
    ):
        if build == 6:
            del files["lessons/a/plot.png"]
        state.publish(Published(build, False, ()), files)
        assert state.stale(DECK, build - 1) and state.stale("index.html", build - 1)
    # a page that is no file of the build (a 404 page): any new build; a failed one: none
    assert state.stale("lessons/gone.html", 5) and not state.stale("lessons/gone.html", 6)
    state.publish(Published(6, False, (("lessons/a/a.py", 3, "boom"),)))
    assert not state.stale(DECK, 6)


def test_the_event_stream_says_whether_its_page_reloads(tmp_path: Path) -> None:
    state = BuildState()
    state.publish(Published(1, False, ()), FILES)
    with running(tmp_path, state) as port:

        def first_state(query: str) -> dict[str, object]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", f"{EVENTS_PATH}?{query}")
            response = conn.getresponse()
            lines = []
            while (line := response.readline().decode()) != "\n":
                lines.append(line)
            conn.close()
            data = next(x for x in lines if x.startswith("data: "))
            return json.loads(data[len("data: ") :])  # type: ignore[no-any-return]

        state.publish(Published(2, False, ()), {**FILES, "all.zip": "z2"})
        assert first_state("build=1&page=%2Flessons%2Fa%2Fa.slides.html")["reload"] is False
        assert first_state("build=1&page=%2F")["reload"] is False  # `/` is index.html
        state.publish(Published(3, False, ()), {**FILES, "index.html": "i3"})
        assert first_state("build=2&page=%2F")["reload"] is True
        assert first_state("build=2&page=%2Flessons%2Fa%2Fa.slides.html")["reload"] is False
        assert first_state("build=x&page=/index.html")["reload"] is True  # no build: 0


def test_files_other_than_pages_are_revalidated_not_fetched_again(
    served: tuple[str, int, Path],
) -> None:
    host, port, preview = served
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/lessons/a/notes.txt")
    response = conn.getresponse()
    assert response.read() == b"notes" and response.getheader("Cache-Control") == "no-cache"
    tag = response.getheader("ETag")
    assert tag
    conn.request("GET", "/lessons/a/notes.txt", headers={"If-None-Match": tag})
    response = conn.getresponse()
    assert (response.status, response.read()) == (304, b"")
    (preview / "lessons" / "a" / "notes.txt").write_text("new notes")  # a new build's file
    conn.request("GET", "/lessons/a/notes.txt", headers={"If-None-Match": tag})
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"new notes")
    conn.request("GET", "/", headers={"If-None-Match": tag})
    response = conn.getresponse()  # a page carries its build: never kept
    assert response.status == 200 and b"EventSource" in response.read()
    assert response.getheader("Cache-Control") == "no-store" and not response.getheader("ETag")
    conn.close()


# -- the reload script and the pages' CSP -------------------------------------------------------


def test_the_script_is_added_to_served_pages_only(served: tuple[str, int, Path]) -> None:
    host, port, preview = served
    on_disk = (preview / "index.html").read_bytes()
    code, body = raw_get(host, port, "/")
    assert code == 200 and b"new EventSource(" in body
    assert b"EventSource" not in on_disk and (preview / "index.html").read_bytes() == on_disk
    assert b"EventSource" not in raw_get(host, port, "/lessons/a/notes.txt")[1]


def test_the_csp_allows_the_script_by_its_hash_and_nothing_more() -> None:
    page = (
        b'<html><head><meta content="default-src &#x27;none&#x27;; script-src &#x27;'
        b'strict-dynamic&#x27; &#x27;sha256-abc=&#x27;; connect-src &#x27;none&#x27;" '
        b'http-equiv="Content-Security-Policy"></head><body><p>x</p></body></html>'
    )
    served = inject(page, 3).decode()
    script = re.search(r"<script>(.*?)</script>", served, re.S).group(1)  # type: ignore[union-attr]
    assert script == reload_script(3) and "var BUILD = 3;" in script
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = re.search(r'content="([^"]*)"', served).group(1).replace("&#x27;", "'")  # type: ignore[union-attr]
    assert policy == (
        "default-src 'none'; script-src 'strict-dynamic' 'sha256-abc=' "
        f"'sha256-{digest}'; connect-src 'self'"
    )
    assert served.index("<script>") > served.index("<p>x</p>")  # at the end of the body


def test_patch_csp_starts_from_default_src_when_a_directive_is_missing() -> None:
    script = "x()"
    assert patch_csp("default-src 'none'; img-src data:", script) == (
        f"default-src 'none'; img-src data:; script-src {script_hash(script)}; connect-src 'self'"
    )
    assert patch_csp("default-src 'self'", script) == (
        f"default-src 'self'; script-src 'self' {script_hash(script)}; connect-src 'self'"
    )


def test_a_page_without_a_body_or_csp_still_gets_the_script() -> None:
    served = inject(b"<p>fragment", 0)
    assert served.startswith(b"<p>fragment<script>") and b"Content-Security" not in served


# -- the errors shown over the page ----------------------------------------------------------


def test_errors_name_the_file_and_line_of_an_invalid_lesson(tmp_path: Path) -> None:
    from workshopkit.pipeline import BUILD, Job, run_pipeline

    root = workshop(tmp_path)
    lesson = root / LESSON
    lesson.write_text(lesson.read_text().replace("level: beginner", "level: wizard"))
    outcome = run_pipeline(
        BUILD, Job(root, output=root / ".workshopkit" / "preview", command="build")
    )
    found = errors_of(outcome)
    line = lesson.read_text().splitlines().index("#     level: wizard") + 1
    assert [(p, n) for p, n, _ in found] == [(str(LESSON), line)]
    assert "wizard" in found[0][2]


# -- the command ---------------------------------------------------------------------------------


def imported(*args: str) -> set[str]:
    """Every module (dotted name) `python -X importtime -m workshopkit ARGS` imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "workshopkit", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("args", [("--help",), ("serve", "--help"), ("check", str(SCENARIO))])
def test_serve_is_cheap_until_it_runs(args: tuple[str, ...]) -> None:
    modules = imported(*args)
    assert "click" in modules
    assert not modules & {"workshopkit.serve", "watchfiles", "http.server", "socketserver"}


def test_serve_help_names_its_options() -> None:
    done = cli("serve", "--help")
    assert done.returncode == 0
    for option in ("--port", "--host", "--open", "--lesson"):
        assert option in done.stdout


def test_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = cli("serve", root, "--port", str(taken.getsockname()[1]), timeout=60)
    assert done.returncode == 2
    assert "cannot serve on 127.0.0.1:" in done.stderr and "--port" in done.stderr


def test_a_preview_folder_it_did_not_make_is_not_replaced(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    preview = root / ".workshopkit" / "preview"
    preview.mkdir(parents=True)
    (preview / "mine.txt").write_text("keep me")
    done = cli("serve", root, "--port", "0", timeout=60)
    assert done.returncode == 2 and "refusing to replace" in done.stderr
    assert (preview / "mine.txt").read_text() == "keep me"


def test_no_workshop_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("serve", tmp_path, "--port", "0", timeout=60)
    assert done.returncode == 2 and "workshop.toml" in done.stderr


@pytest.mark.kernel
@pytest.mark.slow
def test_ctrl_c_stops_the_server_and_every_kernel(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    mark, env = mark_env()
    serve = ServeProcess(root, env=env, mark=mark)
    try:
        assert "rebuilt in" in serve.wait_built(), serve.output
        assert raw_get("127.0.0.1", serve.port, "/")[0] == 200
        # a rebuild whose kernel is busy when Ctrl-C comes
        lesson = root / LESSON
        lesson.write_text(lesson.read_text() + "\n# %%\nimport time\ntime.sleep(120)\n")
        serve.wait_for("changed: lessons/intro/intro.py", 60)
        deadline = time.monotonic() + 120
        while len(marked_processes(mark)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # serve and its kernel
        assert len(marked_processes(mark)) >= 2, serve.output
        assert serve.interrupt() == 130, serve.output
        assert "interrupted: every kernel was stopped" in serve.output
        assert wait_gone(mark, 10) == []
        assert (root / ".workshopkit" / "preview" / "index.html").is_file()  # the last good one
        assert not list((root / ".workshopkit").glob("preview.*-*"))  # no staging left
    finally:
        serve.close()
        kill_marked(mark)


@pytest.mark.kernel
@pytest.mark.slow
def test_lesson_opens_its_deck_and_a_second_serve_is_refused(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    mark, env = mark_env()
    first = ServeProcess(root, "--lesson", "intro", env=env, mark=mark)
    try:
        assert first.wait_for("preview: ").endswith(f"{first.url}lessons/intro/intro.slides.html")
        time.sleep(3)  # its own output written, nothing saved: no rebuild follows
        assert "changed:" not in first.output, first.output
        assert not (root / "dist").exists()  # the preview is not the user's dist/
        done = cli("serve", root, "--port", "0", env=env, timeout=60)
        assert done.returncode == 2
        assert f"is previewing {root}" in done.stderr and str(first.proc.pid) in done.stderr
        assert first.interrupt() == 130  # Ctrl-C while waiting for a change
        assert wait_gone(mark, 10) == []
    finally:
        first.close()
        kill_marked(mark)


@pytest.mark.kernel
@pytest.mark.slow
def test_saves_during_a_rebuild_make_one_more_rebuild(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    lesson = root / LESSON
    original = lesson.read_text()
    mark, env = mark_env()
    serve = ServeProcess(root, env=env, mark=mark)
    try:
        assert "rebuilt in" in serve.wait_built(), serve.output
        # code edits (a markdown edit reuses the cached run and rebuilds in a blink); the cell
        # sleeps, so the later saves land while the first rebuild runs its kernel
        code = 'print("output", 1 + 1)'

        def save(word: str) -> None:  # as editors save: a new file renamed over the old
            temp = lesson.with_name(".intro.py.tmp")
            temp.write_text(original.replace(code, f'import time; time.sleep(2); print("{word}")'))
            os.replace(temp, lesson)

        save("FIRST")
        serve.wait_for("changed: lessons/intro/intro.py", 60)
        for word in ("SECOND", "THIRD"):
            save(word)
            time.sleep(0.3)
        assert "rebuilt in" in serve.wait_built(), serve.output
        serve.wait_for("changed: lessons/intro/intro.py", 60)
        assert "rebuilt in" in serve.wait_built(), serve.output
        time.sleep(3)
        assert serve.output.count("changed:") == 2, serve.output  # not one per save
        deck = root / ".workshopkit/preview/lessons/intro/intro.slides.html"
        assert "THIRD" in deck.read_text() and "SECOND" not in deck.read_text()
    finally:
        serve.close()
        kill_marked(mark)


@pytest.mark.kernel
@pytest.mark.slow
def test_after_its_second_pass_the_preview_is_what_a_build_writes(tmp_path: Path) -> None:
    """The first pass of a save carries the zip over stale; the second ends the preview byte
    for byte as `build` writes dist/ from scratch (report.json aside: it holds times)."""
    root = workshop(tmp_path)
    mark, env = mark_env(SOURCE_DATE_EPOCH="1700000000")
    serve = ServeProcess(root, env=env, mark=mark)
    try:
        assert "rebuilt in" in serve.wait_built(), serve.output
        lesson = root / LESSON
        lesson.write_text(lesson.read_text().replace("Text ALPHA", "Text ECHO"))
        assert "zips and event decks next" in serve.wait_built(), serve.output
        serve.wait_for("zips and event decks up to date in", 120)
        preview = tree_bytes(root / ".workshopkit" / "preview")
    finally:
        serve.close()
        kill_marked(mark)
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns(".workshopkit", "dist"))
    done = cli("build", clean, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    built = tree_bytes(clean / "dist")
    preview.pop("report.json")
    built.pop("report.json")
    assert b"Text ECHO" in preview["lessons/intro/intro.slides.html"]
    assert preview == built


@pytest.mark.kernel
@pytest.mark.slow
def test_sigterm_stops_the_server_with_143(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    mark, env = mark_env()
    serve = ServeProcess(root, env=env, mark=mark)
    try:
        assert "rebuilt in" in serve.wait_built(), serve.output
        serve.proc.terminate()
        assert serve.proc.wait(timeout=60) == 143, serve.output
        assert wait_gone(mark, 10) == []
        with socket.socket() as probe:  # the port is free again
            probe.bind(("127.0.0.1", serve.port))
    finally:
        serve.close()
        kill_marked(mark)


def test_an_unknown_lesson_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("serve", workshop(tmp_path), "--port", "0", "--lesson", "nope", timeout=60)
    assert done.returncode == 2
    assert "--lesson nope: no such lesson; the lessons are intro" in done.stderr


def test_a_request_during_a_swap_waits_for_the_new_preview(tmp_path: Path) -> None:
    """Between the two renames of a build's swap there is no preview folder: a stylesheet asked
    for then must come once the folder is back, not as an HTML error page (which Chromium
    refuses as a stylesheet: seen in CI)."""
    preview = tmp_path / "preview"
    (preview / "_static").mkdir(parents=True)
    (preview / "_static" / "notebook.css").write_text("body { color: black }\n")
    state = BuildState()
    state.publish(Published(1, False, ()))
    aside = tmp_path / "preview.old"
    with running(preview, state) as port:
        preview.rename(aside)  # the first rename of a swap
        threading.Timer(0.1, aside.rename, (preview,)).start()  # the second, a moment later
        code, body = raw_get("127.0.0.1", port, "/_static/notebook.css")
        assert (code, body) == (200, b"body { color: black }\n")


def test_before_the_first_build_every_page_waits_for_it(tmp_path: Path) -> None:
    with running(tmp_path / "not-built-yet", BuildState()) as port:
        code, body = raw_get("127.0.0.1", port, "/lessons/a/a.slides.html")
        assert code == 503 and b"Building the preview" in body and b"EventSource" in body


@pytest.mark.kernel
@pytest.mark.slow
def test_a_failing_lesson_does_not_hold_back_the_preview(tmp_path: Path) -> None:
    """The first build with a lesson failing is served (the others up to date); once it ran
    well, a new failure keeps its last good files, while the other lessons follow each edit."""
    root = workshop(tmp_path)
    broken = root / "lessons" / "broken" / "broken.py"
    broken.parent.mkdir()
    shutil.copy(RESOURCES / "serve_failing_lesson" / "broken.py", broken)
    line = broken.read_text().splitlines().index("ratio = 1 / 0") + 1
    mark, env = mark_env()
    serve = ServeProcess(root, env=env, mark=mark)
    port = serve.port
    deck = "/lessons/{0}/{0}.slides.html"
    try:
        assert "1 lesson(s) failed" in serve.wait_built(), serve.output
        serve.wait_for(f"lessons/broken/broken.py:{line}: error: ZeroDivisionError", 10)
        assert raw_get("127.0.0.1", port, "/")[0] == 200
        code, body = raw_get("127.0.0.1", port, deck.format("intro"))
        assert code == 200 and b"ALPHA" in body
        assert raw_get("127.0.0.1", port, deck.format("broken"))[0] == 404  # never ran well

        broken.write_text(broken.read_text().replace("1 / 0", "1 / 4"))
        assert "failed" not in serve.wait_built(), serve.output
        code, body = raw_get("127.0.0.1", port, deck.format("broken"))
        assert code == 200 and b"ratio 0.25" in body
        on_disk = root / ".workshopkit" / "preview" / deck.format("broken").lstrip("/")
        good = on_disk.read_bytes()

        broken.write_text(broken.read_text().replace("1 / 4", "4 / 0"))
        assert "1 lesson(s) failed" in serve.wait_built(), serve.output
        code, body = raw_get("127.0.0.1", port, deck.format("broken"))
        assert code == 200 and b"ratio 0.25" in body  # its last good deck stays open
        assert on_disk.read_bytes() == good

        intro = root / LESSON
        intro.write_text(intro.read_text().replace("ALPHA", "BRAVO"))
        assert "1 lesson(s) failed" in serve.wait_built(), serve.output
        code, body = raw_get("127.0.0.1", port, deck.format("intro"))
        assert code == 200 and b"BRAVO" in body and b"ALPHA" not in body
        assert on_disk.read_bytes() == good
    finally:
        serve.close()
        kill_marked(mark)
