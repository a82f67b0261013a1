"""Packaging: every source package is listed, so an installed wheel has all of it."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"protosim": "protosim", "protocols": "protosim.protocols", "oracles": "protosim.oracles"}


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """A folder with an __init__.py that pyproject does not list would be left out of wheels."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for folder, package in ROOTS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            found.add(".".join([package, *relative.parts]))
    assert found - listed == set()


def test_fixtures_ship_their_data() -> None:
    """Each fixture's scenario, README and data files match the package-data patterns."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["protosim.fixtures"]
    root = REPO / "fixtures"
    files = {p for p in root.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc"}}
    shipped = {p for pattern in patterns for p in root.glob(pattern)}
    assert sorted(files - shipped) == []
