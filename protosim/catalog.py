"""Where scenarios live: a path on disk, or the name of a fixture shipped with the package."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from protosim.errors import ScenarioError

_FIXTURES_PACKAGE = "protosim.fixtures"


def fixtures_root() -> Path:
    """Return the folder of the installed fixtures."""
    with as_file(files(_FIXTURES_PACKAGE)) as root:
        return Path(root)


def list_fixtures() -> list[str]:
    """Return the names of the fixtures that ship with protosim (folders with a scenario.toml)."""
    root = fixtures_root()
    return sorted(p.parent.name for p in root.glob("*/scenario.toml"))


def resolve_scenario(name_or_path: str) -> Path:
    """Return the scenario file of a path, a folder with a ``scenario.toml``, or a fixture."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.is_dir() and (path / "scenario.toml").is_file():
        return path / "scenario.toml"
    candidate = fixtures_root() / name_or_path / "scenario.toml"
    if candidate.is_file():
        return candidate
    raise ScenarioError(
        "no such scenario file, folder or fixture; "
        f"fixtures: {', '.join(list_fixtures()) or 'none'}",
        file=name_or_path,
    )
