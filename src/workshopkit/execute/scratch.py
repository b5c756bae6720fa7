"""A lesson's scratch folder: a temporary copy of its folder to run in, so lessons that write
files leave the sources clean, next to the kernel's stderr log and start-up files.

    workshopkit-<id>-XXXX/
      work/               the copy; the kernel's working directory
      kernel-stderr.log   what the kernel wrote on stderr (the tail goes into errors)
      workshopkit_*.py    the in-kernel output cap (`engine.kernel_cap_arguments`)
      executed.ipynb      the executed notebook, when the lesson passed (kept for the export)
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..lessonfiles import copy_listing, list_folder, workshop_root
from ..model import Lesson


@dataclass(frozen=True, slots=True)
class Scratch:
    folder: Path

    @property
    def work(self) -> Path:
        return self.folder / "work"

    @property
    def stderr_log(self) -> Path:
        return self.folder / "kernel-stderr.log"

    @property
    def notebook(self) -> Path:
        return self.folder / "executed.ipynb"

    def finish(self, keep_notebook: bool) -> None:
        """Remove the scratch folder, or all of it but the executed notebook."""
        if not keep_notebook:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        for entry in self.folder.iterdir():
            if entry == self.notebook:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def prepare_scratch(lesson: Lesson) -> Scratch:
    """A scratch folder holding a copy of the lesson's folder.

    The copy holds what `lessonfiles.list_folder` lists, as real copies: a symlinked file or
    folder becomes a copy of its target, so writing to it never reaches the sources. What is left
    out (named pipes, broken links...) was reported by `check_assets` before the run.
    """
    scratch = Scratch(Path(tempfile.mkdtemp(prefix=f"workshopkit-{lesson.id}-")))
    try:
        root = workshop_root(lesson.path, lesson.relpath)
        copy_listing(list_folder(lesson.folder, root), scratch.work)
    except BaseException:
        shutil.rmtree(scratch.folder, ignore_errors=True)
        raise
    return scratch
