"""`[launch]`: "Open in Colab", "Open in Binder" and "View" links for a learner notebook, and
the guarded first cell that installs the requirements when a notebook runs in Colab.

The links point at the published learner notebook (`lessons/<id>/<id>.ipynb` of the built
`dist/`, on the branch `[launch]` names): Colab cannot open a text notebook, and Binder builds its
environment from the `requirements.txt` at the root of that branch (the build writes one there
when `[launch]` is configured). The URLs are built the way the services document them:

- Colab: `https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/PATH`
- Binder: `https://mybinder.org/v2/gh/OWNER/REPO/BRANCH?labpath=PATH`
- View: the notebook on `pages_url` through nbviewer when `pages_url` is set, else GitHub's
  own rendering of it (`https://github.com/OWNER/REPO/blob/BRANCH/PATH`).

They are plain links: a page that shows them loads nothing from the network. Nothing here does
I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from .model import LaunchConfig

__all__ = ["COLAB_CELL_ID", "LaunchLinks", "colab_setup_source", "launch_links"]

COLAB_CELL_ID = "workshopkit-colab-setup"


@dataclass(frozen=True, slots=True)
class LaunchLinks:
    colab: str
    binder: str
    view: str


def _branch_path(launch: LaunchConfig, path: str) -> str:
    """The notebook's path inside the branch (the `path` folder first, if any), unquoted."""
    return f"{launch.path}/{path}" if launch.path else path


def launch_links(launch: LaunchConfig, notebook: str) -> LaunchLinks:
    """The links for `notebook`, a path relative to the dist root (`lessons/x/x.ipynb`)."""
    owner, repo, branch = quote(launch.owner), quote(launch.repo), quote(launch.branch, safe="")
    inside = _branch_path(launch, notebook)
    path = quote(inside, safe="/")
    colab = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{path}"
    binder = f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?labpath={quote(inside, safe='')}"
    if launch.pages_url:
        published = launch.pages_url.removeprefix("https://") + quote(notebook, safe="/")
        view = f"https://nbviewer.org/urls/{published}"
    else:
        view = f"https://github.com/{owner}/{repo}/blob/{branch}/{path}"
    return LaunchLinks(colab, binder, view)


def colab_setup_source(requirements: Sequence[str]) -> str:
    """The learner notebook's first cell under `[launch]`: in Colab (and only there) it installs
    the workshop's requirements, which Colab's own image may lack or hold at other versions."""
    args = " ".join(_shell_quote(r) for r in requirements)
    lines = [
        "# Setup for Google Colab: installs what the lessons need. Elsewhere this cell does",
        "# nothing (install the workshop's requirements.txt as its README says).",
        "import sys",
        "",
        'if "google.colab" in sys.modules:',
    ]
    if args:
        lines.append(f"    %pip install --quiet {args}")
    else:
        lines.append("    pass  # the workshop lists no requirements")
    return "\n".join(lines)


def _shell_quote(text: str) -> str:
    """A requirement as one shell word (`%pip` passes the line to a shell)."""
    import shlex

    return shlex.quote(text)
