"""The requirements cross-check (issue 17): imports no requirement provides, unpinned
requirements, and requirements files read as pip reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import cli, lesson_text, line_of, make_workshop

from workshopkit.pipeline import open_workshop
from workshopkit.requirements import lesson_imports, read_requirements


def workshop(tmp_path: Path, *cells: str, requirements: str | None, **files: str) -> Path:
    root = make_workshop(
        tmp_path / "ws", {"lessons/one/one.py": lesson_text(*cells)}, files=files or None
    )
    if requirements is not None:
        (root / "requirements.txt").write_text(requirements, encoding="utf-8")
        toml = root / "workshop.toml"
        text = toml.read_text().replace("\n", '\nrequirements = "requirements.txt"\n', 1)
        toml.write_text(text)
    return root


def messages(root: Path, strict: bool = False) -> list[str]:
    opened = open_workshop(root, strict=strict)
    return [str(d) for d in opened.diagnostics]


def test_an_import_no_requirement_provides_is_named_at_its_line(tmp_path: Path) -> None:
    code = "import numpy as np\nfrom sklearn.linear_model import LinearRegression\nimport pandas"
    root = workshop(tmp_path, code, requirements="numpy==2.0.0\n")
    text = (root / "lessons/one/one.py").read_text()
    found = messages(root)
    assert found == [
        f"lessons/one/one.py:{line_of(text, 'from sklearn')}: warning: 'import sklearn': no "
        "requirement in requirements.txt provides it; attendees' installs will lack it "
        f"(add {found[0].rsplit('(add ', 1)[1][:-1]})",
        f"lessons/one/one.py:{line_of(text, 'import pandas')}: warning: 'import pandas': no "
        "requirement in requirements.txt provides it; attendees' installs will lack it "
        f"(add {found[1].rsplit('(add ', 1)[1][:-1]})",
    ]
    assert "(add scikit-learn" in found[0]  # the import name mapped to its distribution
    assert "(add pandas==" in found[1]  # installed here: pinned to the version tested with


def test_strict_makes_it_an_error_and_check_exits_2(tmp_path: Path) -> None:
    root = workshop(tmp_path, "import pandas", requirements="numpy==2.0.0\n")
    assert cli("check", root).returncode == 0
    result = cli("check", root, "--strict")
    assert result.returncode == 2, result.stderr
    assert "error: 'import pandas': no requirement" in result.stderr


@pytest.mark.parametrize(
    ("module", "requirement"),
    [
        ("sklearn", "scikit-learn==1.5.0"),
        ("sklearn", "Scikit_Learn==1.5.0"),  # names compare normalised
        ("cv2", "opencv-python-headless==4.10.0.84"),
        ("PIL", "pillow==10.0.0"),
        ("yaml", "PyYAML==6.0.1"),
        ("bs4", "beautifulsoup4==4.12.3"),
        ("skimage", "scikit-image==0.24.0"),
        ("dateutil", "python-dateutil==2.9.0"),
        ("zmq", "pyzmq==26.0.0"),  # installed here: importlib.metadata's map too
        ("typing_extensions", "typing-extensions==4.12.0"),  # by name
        ("matplotlib", "matplotlib[extra] == 3.9.0 ; python_version >= '3.9'"),
    ],
)
def test_import_names_map_to_their_distributions(
    tmp_path: Path, module: str, requirement: str
) -> None:
    root = workshop(tmp_path, f"import {module}", requirements=requirement + "\n")
    assert messages(root) == []


def test_what_needs_no_requirement(tmp_path: Path) -> None:
    cells = [
        "import os, sys, json\nfrom collections import Counter\nfrom __future__ import annotations",
        "import helpers\nfrom pkg.sub import thing\nfrom . import sibling",  # shipped beside it
        "from IPython.display import display\nimport ipykernel",  # the install line brings them
        "try:\n    import torch\nexcept ImportError:\n    torch = None",  # optional, with fallback
        "try:\n    import rich\nexcept (ModuleNotFoundError, OSError):\n    rich = None",
        "%pip install seaborn\n!pip install plotly\nfiles = !ls\n%matplotlib inline",
        "%%bash\nimport nothing_here",  # not Python
        "%%writefile mymod.py\nx = 1",
        "import mymod",  # written by the lesson itself
        "def f(:\n    import broken_cell",  # Python cannot parse it: skipped
    ]
    root = workshop(
        tmp_path,
        *cells,
        requirements="",
        **{"lessons/one/helpers.py": "X = 1\n", "lessons/one/pkg/__init__.py": ""},
    )
    assert messages(root) == []


def test_imports_inside_functions_and_magic_cells_count(tmp_path: Path) -> None:
    cells = ["def plot():\n    import seaborn\n    return seaborn", "%%time\nimport plotly.express"]
    root = workshop(tmp_path, *cells, requirements="")
    opened = open_workshop(root)
    lesson = next(iter(opened.workshop.lessons)) if opened.workshop else None
    assert lesson is not None
    assert [s.module for s in lesson_imports(lesson)] == ["seaborn", "plotly"]
    assert len([m for m in messages(root) if "no requirement" in m]) == 2


def test_one_warning_per_module_at_its_first_import(tmp_path: Path) -> None:
    root = workshop(tmp_path, "import pandas", "import pandas as pd", requirements="")
    assert len(messages(root)) == 1


def test_no_requirements_file_is_one_warning_at_workshop_toml(tmp_path: Path) -> None:
    root = workshop(tmp_path, "import pandas\nimport numpy", requirements=None)
    assert messages(root) == [
        "workshop.toml:1: warning: the lessons import numpy, pandas, but workshop.toml names no "
        "'requirements' file: attendees cannot know what to install (add requirements = "
        '"requirements.txt")'
    ]


def test_unpinned_requirements_are_named_at_their_line(tmp_path: Path) -> None:
    reqs = (
        "# tested with\n"
        "numpy==2.0.0\n"
        "pandas>=2\n"
        "scipy\n"
        "matplotlib==3.*\n"
        "seaborn===0.13.2\n"
        "rich @ https://example.org/rich-13.0.0-py3-none-any.whl\n"
    )
    root = workshop(tmp_path, "x = 1", requirements=reqs)
    found = messages(root)
    assert [m.split(": warning: ")[0] for m in found] == [
        "requirements.txt:3",
        "requirements.txt:4",
        "requirements.txt:5",
    ]
    assert "'pandas>=2' is not pinned to one version" in found[0]


def test_requirements_files_read_as_pip_reads_them(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("numpy==2.0.0  # the arrays\n")
    (tmp_path / "requirements.txt").write_text(
        "--index-url https://pypi.org/simple\n"
        "--extra-index-url=https://example.org/simple\n"
        "-f ./wheels\n"
        "-r base.txt\n"
        "-c constraints.txt\n"
        "\n"
        "pandas[performance]==2.2.0 ; python_version >= '3.10' \\\n"
        "    --hash=sha256:abc\n"
        "-e git+https://github.com/org/tool.git#egg=my_tool\n"
        "https://example.org/files/Tiny_Lib-1.0-py3-none-any.whl\n"
        "./vendor/other-2.0.tar.gz\n"
        "https://example.org/mystery\n"
        "-r base.txt\n"  # twice: read once
        "not a requirement!!\n"
        "-r missing.txt\n"
    )
    found = read_requirements(tmp_path / "requirements.txt", tmp_path)
    assert [(r.name, r.path, r.line, r.pinned) for r in found.requirements] == [
        ("numpy", "base.txt", 1, True),
        ("pandas", "requirements.txt", 7, True),
        ("my-tool", "requirements.txt", 9, True),
        ("tiny-lib", "requirements.txt", 10, True),
        ("other", "requirements.txt", 11, True),
    ]
    assert [str(d) for d in found.diagnostics] == [
        "requirements.txt:12: warning: cannot tell which distribution "
        "'https://example.org/mystery' installs (add '#egg=NAME')",
        found.diagnostics[1].__str__(),
        "requirements.txt:15: error: -r missing.txt: no such file (next to requirements.txt)",
    ]
    assert str(found.diagnostics[1]).startswith(
        "requirements.txt:14: error: pip cannot read this requirement"
    )
    assert found.install_args()[1] == "pandas[performance]==2.2.0 ; python_version >= '3.10'"


def test_an_unreadable_requirement_stops_check(tmp_path: Path) -> None:
    root = workshop(tmp_path, "x = 1", requirements="numpy=2.0\n")
    result = cli("check", root)
    assert result.returncode == 2
    assert "requirements.txt:1: error: pip cannot read this requirement" in result.stderr


def test_files_outside_the_workshop_are_never_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("top secret\n")
    root = workshop(tmp_path, "x = 1", requirements="-r ../secret.txt\nnumpy==2.0.0\n")
    found = messages(root)
    assert found == [
        "requirements.txt:1: error: -r ../secret.txt: outside the workshop root (not read)"
    ]
    assert not any("secret" in m and "top" in m for m in found)


@pytest.mark.parametrize("requirements", [None, "numpy==2.0.0\nscikit-learn==1.5.0\n"])
def test_imports_a_requirement_names_read_no_installed_metadata(
    tmp_path: Path, requirements: str | None
) -> None:
    """The map of installed distributions reads every installed package's metadata (0.1 s, before
    a run's first kernel can start): only an import that no requirement names needs it, and
    none does without a requirements file (that is one warning whatever they import)."""
    from workshopkit.requirements import _installed_distributions, distributions_for

    distributions_for.cache_clear()
    _installed_distributions.cache_clear()
    root = workshop(tmp_path, "import numpy\nimport sklearn", requirements=requirements)
    found = messages(root)
    assert _installed_distributions.cache_info().misses == 0
    assert found == (
        []
        if requirements
        else [
            "workshop.toml:1: warning: the lessons import numpy, sklearn, but workshop.toml "
            "names no 'requirements' file: attendees cannot know what to install (add "
            'requirements = "requirements.txt")'
        ]
    )
