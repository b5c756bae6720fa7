"""The one atomic-write helper: a reader (another process, the next run, CI) sees the old file
or the new one, never half of one.

The data goes to a temporary file beside the target (same folder, so the same filesystem), is
flushed to disk, then renamed over the target with `os.replace`; on any failure, Ctrl-C
included, the temporary file is removed and the target is left as it was. (Exports are written
into a temporary folder that replaces `dist/` whole; see `build`.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["write_atomic", "write_json_atomic", "write_text_atomic"]


def write_atomic(path: Path, data: bytes | Path, *, durable: bool = True) -> None:
    """Write `data` (bytes, or a file whose content to copy) to `path`, atomically.

    `durable` flushes the file to disk before the rename (skip it for caches of caches)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                with data.open("rb") as source:
                    shutil.copyfileobj(source, fh, 1 << 20)
            fh.flush()
            if durable:
                with contextlib.suppress(OSError):  # some filesystems refuse fsync
                    os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def write_text_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    write_atomic(path, text.encode("utf-8"), durable=durable)


def write_json_atomic(path: Path, data: Any, *, indent: int | None = 2) -> None:
    """JSON (with a final newline), atomically."""
    text = json.dumps(data, indent=indent) + "\n"
    write_atomic(path, text.encode("utf-8"))
