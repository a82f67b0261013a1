"""Atomic file output: a reader's output file is either complete or absent."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text_atomic(path: str | Path, text: str) -> Path:
    r"""Write `text` to `path` so that no reader ever sees half a file.

    The text goes to a temporary file in the same directory (so the final rename does
    not cross file systems), is flushed to disk, then replaces `path` in one
    ``os.replace``. On any failure the temporary file is removed and an existing
    `path` is left as it was.

    Parameters
    ----------
    path : str or Path
        Destination file. Its directory must exist.
    text : str
        Full contents, written as UTF-8 with ``\n`` line endings.

    Returns
    -------
    Path
        The destination path.
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        # mkstemp makes the file private (0600); an output file is meant to be shared.
        mode = 0o644
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return target
