"""`build --wheelhouse` (issue 17): wheels in each zip, an offline install that works, exit 3
without a network, and a cache that makes the next build need none.

The end-to-end test downloads from PyPI (it is skipped only when PyPI cannot be reached), then
installs from the zip in a fresh venv inside a network namespace (`unshare -rn`: no network but
loopback, which the kernel needs) and runs the learner notebook there.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import cli, mark_env

from workshopkit.export.bundles import Install
from workshopkit.wheelhouse import PLATFORMS, Wheelhouse, pip_download_args

PACKAGING = importlib.metadata.version("packaging")  # small, pure Python, installed here
LESSON = """\
# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Hello offline
#     level: beginner
#     minutes: 5
# ---

# %%
import packaging

print("packaging", packaging.__version__)
"""


def pypi_reachable() -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen("https://pypi.org/simple/packaging/", timeout=10):
            return True
    except OSError:
        return False


def offline_workshop(root: Path) -> Path:
    (root / "lessons/hello").mkdir(parents=True)
    (root / "workshop.toml").write_text('title = "Offline"\nrequirements = "requirements.txt"\n')
    (root / "requirements.txt").write_text(f"packaging=={PACKAGING}\n")
    (root / "lessons/hello/hello.py").write_text(LESSON)
    return root


def no_index_env() -> dict[str, str]:
    """pip pointed at an index nobody serves: the network is "down" for pip."""
    _, env = mark_env()
    return {**env, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0"}


def offline(*command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`command` with no network at all (a new network namespace with only loopback up)."""
    script = 'ip link set lo up 2>/dev/null || true; exec "$@"'
    return subprocess.run(
        ["unshare", "-rn", "sh", "-c", script, "sh", *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def test_pip_download_args_per_platform(tmp_path: Path) -> None:
    args = pip_download_args(tmp_path / "r.txt", tmp_path, PLATFORMS["windows"][1][0], "3.12")
    assert args[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--only-binary=:all:" in args  # wheels only: nothing to compile at the venue
    assert args[args.index("--platform") + 1] == "win_amd64"
    assert args[args.index("--python-version") + 1] == "3.12"
    assert args[-3:] == ["-r", str(tmp_path / "r.txt"), "jupyterlab"]
    linux = PLATFORMS["manylinux"][1][0]
    assert "manylinux_2_28_x86_64" in linux and "manylinux_2_17_x86_64" in linux
    assert [p for run in PLATFORMS["macos"][1] for p in run] == [
        "macosx_12_0_arm64",
        "macosx_12_0_x86_64",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "windows"], "--platform and --python go with --wheelhouse"),
        (["--wheelhouse", "--python", "3"], "'3' is not a Python version like 3.11"),
        (["--wheelhouse", "--platform", "solaris"], "'solaris' is not one of"),
    ],
)
def test_wheelhouse_options_are_checked(tmp_path: Path, args: list[str], message: str) -> None:
    root = offline_workshop(tmp_path / "ws")
    result = cli("build", root, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_no_network_is_exit_3_before_any_kernel_starts(tmp_path: Path) -> None:
    root = offline_workshop(tmp_path / "ws")
    result = cli("build", root, "--wheelhouse", env=no_index_env(), timeout=600)
    assert result.returncode == 3, result.stderr
    assert "error: --wheelhouse: pip could not download the wheels for this platform:" in (
        result.stderr
    )
    assert "it needs the network" in result.stderr
    assert "kernel started" not in result.stderr and not (root / "dist").exists()


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.skipif(not pypi_reachable(), reason="PyPI is not reachable from here")
def test_an_attendee_installs_from_the_zip_with_no_network(tmp_path: Path) -> None:
    root = offline_workshop(tmp_path / "ws")
    _, env = mark_env()
    built = cli("build", root, "--wheelhouse", env=env, timeout=1800)
    assert built.returncode == 0, built.stderr
    assert "wheelhouse: " in built.stderr
    # the next build needs no network: the wheels come from the cache
    again = cli("build", root, "--wheelhouse", env=no_index_env(), timeout=1800)
    assert again.returncode == 0, again.stderr
    assert "from the cache" in again.stderr

    with zipfile.ZipFile(root / "dist/all.zip") as zf:
        zf.extractall(tmp_path / "attendee")
        wheels = [n for n in zf.namelist() if n.startswith("all/wheels/")]
        readme = zf.read("all/README.md").decode()
    assert any(n.startswith("all/wheels/packaging-") for n in wheels)
    assert any(n.startswith("all/wheels/jupyterlab-") for n in wheels)
    command = "pip install --no-index --find-links wheels -r requirements.txt jupyterlab"
    assert command in readme

    folder = tmp_path / "attendee/all"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
    bare = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **{k: v for k, v in os.environ.items() if k in {"LANG", "TMPDIR"}},
    }
    # the README's command, word for word, with the network cut
    installed = offline(*(["python", "-m", *command.split()]), cwd=folder, env=bare)
    assert installed.returncode == 0, installed.stderr
    # the proof the namespace has no network: pip cannot reach PyPI from it
    online = offline("python", "-m", "pip", "download", "--no-deps", "six", cwd=folder, env=bare)
    assert online.returncode != 0
    ran = offline(
        "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "lessons/hello/hello.ipynb",
        "--output",
        str(tmp_path / "ran.ipynb"),
        cwd=folder,
        env=bare,
    )
    assert ran.returncode == 0, ran.stderr
    assert f"packaging {PACKAGING}" in (tmp_path / "ran.ipynb").read_text()


def test_how_the_wheels_were_fetched_is_not_what_the_pages_show(tmp_path: Path) -> None:
    # the incremental export digests the pages' views, install text included: a build that takes
    # the wheels from the cache must render the same pages as the one that downloaded them
    wheels = (tmp_path / "six-1.17.0-py2.py3-none-any.whl",)
    downloaded = Wheelhouse(wheels, (), "3.11", cached=False, seconds=18.9)
    from_cache = Wheelhouse(wheels, (), "3.11", cached=True, seconds=0.0)
    assert repr(Install(True, downloaded)) == repr(Install(True, from_cache))
    assert Install(True, downloaded) == Install(True, from_cache)
    assert repr(downloaded) != repr(Wheelhouse(wheels, (), "3.12"))
