"""The plugin registry: kind names (``"lending.aave_v3"``) mapped to parameter models and
factories. Built-in venues and oracles register through the ``protosim.plugins`` entry-point
group exactly as a third-party package would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from protosim.context import SimContext
    from protosim.scenario import ComponentSpec

Role = Literal["oracle", "venue", "agent"]
ENTRY_POINT_GROUP = "protosim.plugins"


@dataclass(frozen=True, slots=True)
class ComponentType:
    """A kind of component a scenario can name.

    Attributes
    ----------
    kind : str
        The name used in scenarios, ``"<family>.<name>"``.
    role : {"oracle", "venue", "agent"}
        Which scenario table lists it.
    params : type of pydantic BaseModel
        Validates the ``params`` table.
    build : callable
        ``build(ctx, spec, params, where)`` returns the component; `where` is the key path of
        the spec in the scenario (``"venues[0]"``), for error messages.
    description : str
        One line for ``protosim kinds``.
    """

    kind: str
    role: Role
    params: type[BaseModel]
    build: Callable[[SimContext, ComponentSpec, Any, str], Any]
    description: str


class Registry:
    """Component types by kind name."""

    def __init__(self) -> None:
        self._types: dict[str, ComponentType] = {}
        self._commands: dict[str, Any] = {}
        self._benchmarks: dict[str, Callable[..., dict[str, Any]]] = {}

    def register(self, component: ComponentType) -> None:
        """Add `component`; registering a kind twice is an error."""
        if component.kind in self._types:
            raise ValueError(f"component kind {component.kind!r} is already registered")
        self._types[component.kind] = component

    def get(self, kind: str) -> ComponentType:
        """Return the type registered as `kind`."""
        try:
            return self._types[kind]
        except KeyError:
            raise KeyError(
                f"unknown kind {kind!r}; known kinds: {', '.join(sorted(self._types))}"
            ) from None

    def register_command(self, command: Any) -> None:
        """Add a click command to the ``protosim`` command line (a plugin's own analysis)."""
        name = command.name
        if name in self._commands:
            raise ValueError(f"command {name!r} is already registered")
        self._commands[name] = command

    def register_benchmark(self, name: str, run: Callable[..., dict[str, Any]]) -> None:
        """Add a benchmark ``protosim bench --NAME`` runs; `run` returns its figures."""
        if name in self._benchmarks:
            raise ValueError(f"benchmark {name!r} is already registered")
        self._benchmarks[name] = run

    def benchmark(self, name: str) -> Callable[..., dict[str, Any]]:
        """Return the benchmark registered as `name`."""
        try:
            return self._benchmarks[name]
        except KeyError:
            raise KeyError(
                f"no benchmark {name!r}; registered: {sorted(self._benchmarks)}"
            ) from None

    def commands(self) -> list[Any]:
        """Return the commands plugins registered, by name."""
        return [self._commands[name] for name in sorted(self._commands)]

    def kinds(self, role: Role | None = None) -> list[str]:
        """Return the registered kind names, optionally only those of `role`."""
        return sorted(k for k, t in self._types.items() if role is None or t.role == role)

    def __contains__(self, kind: object) -> bool:
        return kind in self._types

    def load_entry_points(self) -> Registry:
        """Call every ``protosim.plugins`` entry point with this registry; return self."""
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            register = ep.load()
            register(self)
        return self


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """Return the registry of every installed plugin (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Registry().load_entry_points()
    return _DEFAULT
