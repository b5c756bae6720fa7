"""export.bundles: reproducible zips, safe names, SHA256SUMS (failure-modes.md 22-24, 33-34)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export_scenarios import (
    DEFAULT_TOML,
    PLAIN,
    fake_results,
    lesson_text,
    open_valid,
    scenario,
    tree_bytes,
)

from workshopkit.export import ExportError, export_workshop
from workshopkit.export.bundles import (
    BundleEntry,
    check_entry_name,
    readme_text,
    write_sha256sums,
    write_zip,
    zip_date_time,
)

TESTS = Path(__file__).resolve().parents[1]
EPOCH = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def check_zip_entries(path: Path) -> None:
    """failure-modes.md 34: relative, sorted, no '..' or backslash, modes 0644/0755."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names), path
        assert len(set(names)) == len(names)
        top = {n.split("/")[0] for n in names}
        assert top == {path.stem}, top
        for info in infos:
            name = info.filename
            assert not name.startswith("/") and "\\" not in name and ":" not in name, name
            assert ".." not in name.split("/") and "" not in name.split("/"), name
            mode = info.external_attr >> 16
            assert stat.S_ISREG(mode), name
            assert stat.S_IMODE(mode) in (0o644, 0o755), (name, oct(mode))
            assert info.create_system == 3
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.extra == b"" and info.comment == b""
        assert zf.comment == b""
        assert zf.testzip() is None


# --------------------------------------------------------------------------------------------
# write_zip


def test_zip_date_time() -> None:
    assert zip_date_time(None) == (1980, 1, 1, 0, 0, 0)
    assert zip_date_time(EPOCH) == (2023, 11, 14, 22, 13, 20)
    assert zip_date_time(0) == (1980, 1, 1, 0, 0, 0)  # before the zip epoch: clamped
    assert zip_date_time(2**40) == (2107, 12, 31, 23, 59, 58)


def test_entries_are_sorted_with_fixed_metadata(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o700)
    entries = [
        BundleEntry("t/b.txt", data=b"b"),
        BundleEntry("t/a/z.txt", data=b"z"),
        BundleEntry("t/run.sh", source=script, executable=True),
    ]
    target = tmp_path / "t.zip"
    write_zip(target, entries, source_date_epoch=EPOCH)
    check_zip_entries(target)
    with zipfile.ZipFile(target) as zf:
        assert zf.namelist() == ["t/a/z.txt", "t/b.txt", "t/run.sh"]
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        assert stat.S_IMODE(zf.getinfo("t/run.sh").external_attr >> 16) == 0o755
        assert stat.S_IMODE(zf.getinfo("t/b.txt").external_attr >> 16) == 0o644


def test_same_entries_in_any_order_give_the_same_bytes(tmp_path: Path) -> None:
    entries = [BundleEntry(f"t/{n}.txt", data=str(n).encode() * 100) for n in range(20)]
    write_zip(tmp_path / "a.zip", entries, source_date_epoch=EPOCH)
    write_zip(tmp_path / "b.zip", list(reversed(entries)), source_date_epoch=EPOCH)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    write_zip(tmp_path / "c.zip", entries, source_date_epoch=EPOCH + 10)
    assert (tmp_path / "a.zip").read_bytes() != (tmp_path / "c.zip").read_bytes()


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "/abs.txt", "a\\..\\b.txt", "t/../x", "t//x", "t/./x", "t/a\x00b", "C:x"],
)
def test_unsafe_names_are_refused_before_writing(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="unsafe zip entry name"):
        write_zip(tmp_path / "t.zip", [BundleEntry(name, data=b"x")], source_date_epoch=None)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        check_entry_name(name)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    entries = [BundleEntry("t/a", data=b"1"), BundleEntry("t/a", data=b"2")]
    with pytest.raises(ValueError, match="duplicate"):
        write_zip(tmp_path / "t.zip", entries, source_date_epoch=None)


def test_disk_full_mid_zip_leaves_no_part_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """failure-modes.md 37: a fault after some bytes of a zip: no `.part` left, the path named."""
    written = []
    real = zipfile.ZipFile.writestr

    def failing(self: zipfile.ZipFile, info: object, data: bytes, **kw: object) -> None:
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(info)
        real(self, info, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    entries = [BundleEntry(f"t/{n}", data=os.urandom(1000)) for n in range(10)]
    target = tmp_path / "t.zip"
    with pytest.raises(ExportError) as caught:
        write_zip(target, entries, source_date_epoch=None)
    assert str(caught.value) == f"{target}: cannot write: no space left on device"
    assert caught.value.exit_code == 3
    assert list(tmp_path.iterdir()) == []


def test_sha256sums_format(tmp_path: Path) -> None:
    for name in ("b.zip", "a.zip"):
        write_zip(tmp_path / name, [BundleEntry("x/y", data=name.encode())], source_date_epoch=None)
    from workshopkit.export.bundles import Bundle, sha256_file

    bundles = [
        Bundle(p.stem, p, p.stat().st_size, sha256_file(p), 1)
        for p in (tmp_path / "b.zip", tmp_path / "a.zip")
    ]
    sums = write_sha256sums(tmp_path, bundles).read_text()
    digest = hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest()
    assert sums.splitlines()[0] == f"{digest}  a.zip"
    result = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "a.zip: OK\nb.zip: OK\n"


# --------------------------------------------------------------------------------------------
# Track bundles from a whole export


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    workshop = open_valid(scenario(tmp_path / "ws"))
    results = fake_results(workshop, tmp_path / "run", failed=["deep-dive"])
    dest = tmp_path / "dist"
    export_workshop(workshop, results, dest, source_date_epoch=EPOCH)
    return dest


def test_katex_is_zipped_only_with_tracks_whose_decks_have_math(tmp_path: Path) -> None:
    math = PLAIN.format(title="Softmax") + "\n# %% [markdown]\n# $p_i = e^{z_i} / Z$\n"
    toml = DEFAULT_TOML.replace(
        'levels = ["beginner", "intermediate", "advanced"]', 'tags = ["python"]'
    )
    toml += '\n[[tracks]]\nid = "maths"\ntitle = "Maths"\ntags = ["maths"]\n'
    extra = {
        "lessons/04-softmax/lesson.py": lesson_text(
            "softmax", title="Softmax", minutes=10, tags=["maths"], body=math
        )
    }
    workshop = open_valid(scenario(tmp_path / "ws", toml=toml, extra=extra))
    dest = tmp_path / "dist"
    export_workshop(workshop, fake_results(workshop, tmp_path / "run"), dest)
    assert (dest / "_static/katex/katex.min.js").is_file()  # the site has every asset
    maths = zip_names(dest / "maths.zip")
    assert "maths/_static/katex/katex.min.js" in maths
    assert "maths/_static/katex/fonts/KaTeX_Main-Regular.woff2" in maths
    assert not any("/katex/" in name for name in zip_names(dest / "basics.zip"))
    check_zip_entries(dest / "maths.zip")


def test_track_bundle_content(exported: Path) -> None:
    check_zip_entries(exported / "basics.zip")
    names = zip_names(exported / "basics.zip")
    lessons = sorted({n.split("/")[2] for n in names if n.startswith("basics/lessons/")})
    assert lessons == ["exercises", "next-steps"]  # deep-dive failed: left out
    assert "basics/README.md" in names and "basics/requirements.txt" in names
    assert "basics/lessons/exercises/exercises.ipynb" in names
    assert "basics/lessons/exercises/exercises.solution.ipynb" in names
    assert "basics/lessons/exercises/exercises.slides.html" in names
    assert "basics/lessons/exercises/numbers.csv" in names
    assert "basics/lessons/exercises/chart.png" in names
    assert "basics/_static/reveal.js/dist/reveal.js" in names
    assert "basics/_static/require.js" in names
    assert "basics/_static/site.css" not in names
    with zipfile.ZipFile(exported / "basics.zip") as zf:
        readme = zf.read("basics/README.md").decode()
        assert zf.read("basics/requirements.txt") == b"numpy==2.0.0\n"
        for name in zf.namelist():  # every file in the zip is the one in dist
            rel = name.split("/", 1)[1]
            if not rel.startswith(("README.md", "requirements.txt")):
                assert zf.read(name) == (exported / rel).read_bytes(), name
    assert "pip install -r requirements.txt jupyterlab" in readme
    assert "jupyter lab" in readme
    assert readme.index("Exercises and solutions") < readme.index("Next steps")
    assert "| 1 | Exercises and solutions | beginner | 20 |" in readme
    assert "Not included because they failed their last test run: `deep-dive`." in readme


def test_sha256sums_checks_with_sha256sum(exported: Path) -> None:
    result = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=exported, capture_output=True)
    assert result.returncode == 0, result
    assert result.stdout == b"basics.zip: OK\n"


def test_readme_escapes_table_cells() -> None:
    from workshopkit.model import Track

    text = readme_text("W", Track("t", "T", ()), [], [], has_requirements=False)
    assert "pip install jupyterlab" in text and "0 lessons" in text
    assert "\\|" not in text  # nothing to escape with no lessons
    from workshopkit.export.bundles import _cell

    assert _cell("a | b\nc") == "a \\| b c"


# --------------------------------------------------------------------------------------------
# What needs the network (issue 17)


def test_without_a_wheelhouse_the_readme_says_what_needs_the_network(exported: Path) -> None:
    with zipfile.ZipFile(exported / "basics.zip") as zf:
        readme = zf.read("basics/README.md").decode()
    assert "works offline" not in readme and "Everything here" not in readme
    assert "installing the libraries in `requirements.txt` downloads them" in readme
    assert "pip install -r requirements.txt jupyterlab   # needs the network" in readme
    assert "--no-index" not in readme


def test_with_a_wheelhouse_the_zip_carries_the_wheels_and_the_offline_command(
    tmp_path: Path,
) -> None:
    from workshopkit.wheelhouse import Wheelhouse

    wheels = tmp_path / "cache"
    wheels.mkdir()
    made = []
    for name in ("tiny-1.0-py3-none-any.whl", "numpy-2.0.0-cp311-cp311-win_amd64.whl"):
        (wheels / name).write_bytes(b"PK\x05\x06" + bytes(18) + name.encode())
        made.append(wheels / name)
    house = Wheelhouse(tuple(made), ("windows",), "3.11")
    workshop = open_valid(scenario(tmp_path / "ws"))
    results = fake_results(workshop, tmp_path / "run")
    dest = tmp_path / "dist"
    export_workshop(workshop, results, dest, source_date_epoch=EPOCH, wheelhouse=house)
    with zipfile.ZipFile(dest / "basics.zip") as zf:
        readme = zf.read("basics/README.md").decode()
        infos = {i.filename: i for i in zf.infolist()}
        for wheel in made:
            info = infos[f"basics/wheels/{wheel.name}"]
            assert info.compress_type == zipfile.ZIP_STORED  # already compressed
            assert zf.read(info) == wheel.read_bytes()
    assert "pip install --no-index --find-links wheels -r requirements.txt jupyterlab" in readme
    assert "Everything here installs and runs with no network" in readme
    assert "for Python 3.11 on Windows (64-bit)" in readme
    assert "On another platform or Python version, with a network:" in readme
    track_page = (dest / "basics/index.html").read_text()
    assert "pip install --no-index --find-links wheels -r requirements.txt jupyterlab" in track_page
    assert "it installs and runs with no network" in track_page
    footer = (dest / "index.html").read_text()
    assert "Everything here works offline" in footer and "Python 3.11 on Windows" in footer
    assert not (dest / "wheels").exists()  # in each zip, not beside them


# --------------------------------------------------------------------------------------------
# Reproducible builds (failure-modes.md 23, 33)

DRIVER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from export_scenarios import fake_results, open_valid
    from workshopkit.export import export_workshop

    root, run, dest = map(Path, sys.argv[1:4])
    workshop = open_valid(root)
    results = fake_results(workshop, run)
    epoch = int(os.environ["SOURCE_DATE_EPOCH"])
    export_workshop(workshop, results, dest, source_date_epoch=epoch)
    """
)


def _export_in_subprocess(root: Path, run: Path, dest: Path, tz: str, umask: int) -> None:
    env = {
        **os.environ,
        "TZ": tz,
        "SOURCE_DATE_EPOCH": str(EPOCH),
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    code = f"import os; os.umask({umask:#o})\n" + DRIVER
    subprocess.run(
        [sys.executable, "-c", code, str(root), str(run), str(dest)], env=env, check=True
    )


def test_bundles_are_byte_identical_across_builds(tmp_path: Path) -> None:
    root = scenario(tmp_path / "ws")
    _export_in_subprocess(root, tmp_path / "run1", tmp_path / "dist1", "UTC", 0o022)
    time.sleep(2)
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path)  # touched sources
    _export_in_subprocess(root, tmp_path / "run2", tmp_path / "dist2", "Pacific/Chatham", 0o077)
    first, second = tree_bytes(tmp_path / "dist1"), tree_bytes(tmp_path / "dist2")
    digest = {n: hashlib.sha256(first[n]).hexdigest() for n in first if n.endswith(".zip")}
    assert digest and digest == {
        n: hashlib.sha256(second[n]).hexdigest() for n in second if n.endswith(".zip")
    }
    notebooks = [n for n in first if n.endswith(".ipynb")]
    assert notebooks and all(first[n] == second[n] for n in notebooks)
    volatile = {"report.json"}  # holds run times
    assert {n: b for n, b in first.items() if n not in volatile} == {
        n: b for n, b in second.items() if n not in volatile
    }
    for name in digest:
        check_zip_entries(tmp_path / "dist2" / name)


def test_plain_zipfile_would_differ(tmp_path: Path) -> None:
    """The control of repro-zipfile's test: without fixed metadata, a rebuild differs."""
    source = tmp_path / "f.txt"
    source.write_text("x")
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.write(source, "f.txt")
    time.sleep(2)
    os.utime(source)
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as zf:
        zf.write(source, "f.txt")
    assert (tmp_path / "a.zip").read_bytes() != (tmp_path / "b.zip").read_bytes()
