"""Every notebook runs top to bottom on a fresh install (fast setting) and its closing
assertion on the headline result holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook: Path, tmp_path: Path) -> None:
    """The notebook exits 0 with PROTOSIM_FAST=1, writing its figures."""
    env = {
        **os.environ,
        "PROTOSIM_FAST": "1",
        "PROTOSIM_FIGURES": str(tmp_path),
        "MPLBACKEND": "Agg",
    }
    proc = subprocess.run(
        [sys.executable, str(notebook)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(tmp_path.glob("*.png"))


def test_there_are_notebooks() -> None:
    """The notebooks folder is not empty (a glob that finds nothing would test nothing)."""
    assert len(NOTEBOOKS) >= 4
