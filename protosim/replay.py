"""Historical replays: run a fixture's scenario and compare it with what was reported.

A fixture folder (``fixtures/<event>/``, the contract in ``fixtures/README.md``) holds a
scenario, the price data it replays, a README and ``reported.toml``: every figure the event is
known by, each with a *measure* that says how to read the same figure off a simulated run.

Measure grammar (parsed once per text; see `parse_measure`)::

    metric:COMPONENT.KEY                 result.component_metrics[COMPONENT][KEY]
    sum:EVENTKIND.FIELD{filters}         sum of a numeric field over matching events
    count:EVENTKIND{filters}             number of matching events
    nunique:EVENTKIND.FIELD{filters}     distinct values of a field (accounts liquidated)
    max:EVENTKIND.FIELD{filters}         largest value of a numeric field (NaN: no match),
    min:EVENTKIND.FIELD{filters}         e.g. the largest single liquidation
    first_t:EVENTKIND{filters}           seconds from the start of the first match (NaN: none)
    last_t:EVENTKIND{filters}            ... of the last match
    min_price:ASSET@VENUE{t filters}     lowest price of ASSET on a market venue, or
    max_price:ASSET@VENUE{t filters}     ``reference`` for the exogenous path; optionally in a
                                         time window (``t>=T,t<=T``: the price at T)

Filters are comma separated: ``field=value`` / ``field!=value`` (string or number equality) and
``t>=…``, ``t>…``, ``t<=…``, ``t<…`` with a UTC time (``2025-10-10T21:36:00Z``, converted with
the scenario's ``start_utc``) or seconds. The engine core knows no venue: event kinds are found
among the `protosim.events.Event` subclasses the installed plugins define.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from protosim.catalog import fixtures_root
from protosim.errors import ScenarioError
from protosim.events import BadDebtRealized, Event, LiquidationExecuted
from protosim.results import RunResult
from protosim.scenario import Scenario, read_toml, validation_error

__all__ = [
    "Figure",
    "FigureResult",
    "Fixture",
    "Measure",
    "ReplayReport",
    "Reported",
    "evaluate_measure",
    "event_kinds",
    "fixture_dir",
    "load_fixture",
    "load_reported",
    "parse_assignments",
    "parse_measure",
    "relative_error",
    "replay",
    "validate_measure",
]

Unit = Literal["usd", "count", "price", "seconds", "ratio", "tokens"]
_OPS = (
    "metric",
    "sum",
    "count",
    "nunique",
    "max",
    "min",
    "first_t",
    "last_t",
    "min_price",
    "max_price",
)


# -- the measure grammar ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Filter:
    """One filter of a measure: ``name op value`` (value kept as written)."""

    name: str
    op: str
    value: str


@dataclasses.dataclass(frozen=True, slots=True)
class Measure:
    """A parsed measure: the operation and what it reads (see the module docstring)."""

    text: str
    op: str
    kind: str = ""
    field: str = ""
    filters: tuple[Filter, ...] = ()
    component: str = ""
    key: str = ""
    asset: str = ""
    venue: str = ""


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_EVENT_RE = re.compile(
    rf"^(?P<kind>{_NAME})(?:\.(?P<field>{_NAME}))?(?:\{{(?P<filters>[^{{}}]*)\}})?$"
)
_FILTER_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>!=|>=|<=|=|<|>)\s*(?P<value>\S.*?)\s*$"
)


@functools.lru_cache(maxsize=1024)
def parse_measure(text: str) -> Measure:
    """Parse a measure string once (cached) and return it.

    Raises
    ------
    ValueError
        Naming the part of the text that does not follow the grammar.

    Examples
    --------
    >>> m = parse_measure("count:LiquidationExecuted{venue=aave-v3,t>=10}")
    >>> m.op, m.kind, [(f.name, f.op, f.value) for f in m.filters]
    ('count', 'LiquidationExecuted', [('venue', '=', 'aave-v3'), ('t', '>=', '10')])
    >>> parse_measure("min_price:USDe@usde-binance").venue
    'usde-binance'
    >>> parse_measure("sum:LiquidationExecuted{venue=x}")
    Traceback (most recent call last):
    ...
    ValueError: 'sum:LiquidationExecuted{venue=x}': sum needs EVENTKIND.FIELD
    """
    op, sep, rest = text.partition(":")
    where = repr(text)
    if not sep or op not in _OPS:
        raise ValueError(f"{where}: expected one of {', '.join(o + ':' for o in _OPS)} first")
    rest = rest.strip()
    if op == "metric":
        component, dot, key = rest.partition(".")
        if not dot or not component or not key:
            raise ValueError(f"{where}: expected metric:COMPONENT.KEY")
        return Measure(text, op, component=component, key=key)
    if op in ("min_price", "max_price"):
        asset, at, venue = rest.partition("@")
        venue, brace, window = venue.partition("{")
        if not at or not asset or not venue or (brace and not window.endswith("}")):
            raise ValueError(
                f"{where}: expected {op}:ASSET@VENUE[{{t>=…,t<…}}] (VENUE may be 'reference')"
            )
        filters = _parse_filters(window[:-1], where) if brace else ()
        if any(f.name != "t" or f.op in ("=", "!=") for f in filters):
            raise ValueError(f"{where}: a price measure takes only t>=, t>, t<=, t< filters")
        return Measure(text, op, asset=asset, venue=venue, filters=filters)
    match = _EVENT_RE.match(rest)
    if match is None:
        raise ValueError(f"{where}: expected {op}:EVENTKIND[.FIELD][{{filters}}]")
    field = match["field"] or ""
    if op in ("sum", "nunique", "max", "min") and not field:
        raise ValueError(f"{where}: {op} needs EVENTKIND.FIELD")
    if op in ("count", "first_t", "last_t") and field:
        raise ValueError(f"{where}: {op} takes EVENTKIND without a field")
    filters = _parse_filters(match["filters"] or "", where)
    return Measure(text, op, kind=match["kind"], field=field, filters=filters)


def _parse_filters(text: str, where: str) -> tuple[Filter, ...]:
    filters = []
    for part in text.split(","):
        if not part.strip():
            continue
        fm = _FILTER_RE.match(part)
        if fm is None:
            raise ValueError(f"{where}: filter {part.strip()!r} is not field=value or t>=TIME")
        name, fop = fm["name"], fm["op"]
        if name != "t" and fop not in ("=", "!="):
            raise ValueError(f"{where}: filter {part.strip()!r}: only t takes <, <=, >, >=")
        filters.append(Filter(name, fop, fm["value"]))
    return tuple(filters)


def _import_event_modules() -> None:
    """Import the ``events`` module beside each registered kind's parameters and in the
    packages above it: plugins define event kinds there and import them only when built.
    """
    from protosim.registry import default_registry

    registry = default_registry()
    for kind in registry.kinds():
        parts = registry.get(kind).params.__module__.split(".")
        for depth in range(len(parts) - 1, 0, -1):
            name = ".".join([*parts[:depth], "events"])
            try:
                found = importlib.util.find_spec(name) is not None
            except ModuleNotFoundError:
                found = False
            if found:
                importlib.import_module(name)


def event_kinds() -> dict[str, type[Event]]:
    """Return every event kind the installed code defines, by class name.

    Plugins define their kinds in their own modules; loading the default registry imports them.
    """
    _import_event_modules()
    out: dict[str, type[Event]] = {}
    todo: list[type[Event]] = [Event]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            out.setdefault(sub.__name__, sub)
            todo.append(sub)
    return out


def _kind(name: str, result: RunResult | None, text: str) -> type[Event]:
    if result is not None:
        for kind in result.log.kinds:
            if kind.__name__ == name:
                return kind
    known = event_kinds()
    if name not in known:
        raise ValueError(f"{text!r}: unknown event kind {name!r}; expected one of {sorted(known)}")
    return known[name]


def _fields(kind: type[Event]) -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(kind)}


def validate_measure(text: str) -> Measure:
    """Parse `text` and check its event kind and fields exist (without a run)."""
    m = parse_measure(text)
    if m.kind:
        kind = _kind(m.kind, None, text)
        fields = _fields(kind)
        for name in [m.field] * bool(m.field) + [f.name for f in m.filters]:
            if name not in fields:
                raise ValueError(
                    f"{text!r}: {m.kind} has no field {name!r}; expected one of {sorted(fields)}"
                )
    return m


def _time_value(value: str, start_utc: datetime | None, text: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r}: t filter {value!r} is neither seconds nor a UTC time"
        ) from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r}: t filter {value!r} needs a UTC offset (…Z)")
    if start_utc is None:
        raise ValueError(f"{text!r}: a UTC t filter needs the scenario's start_utc")
    return (when - start_utc).total_seconds()


def _mask(m: Measure, kind: type[Event], result: RunResult) -> NDArray[np.bool_]:
    log = result.log
    n = log.count(kind)
    keep = np.ones(n, dtype=bool)
    fields = _fields(kind)
    for f in m.filters:
        if f.name not in fields:
            raise ValueError(
                f"{m.text!r}: {kind.__name__} has no field {f.name!r}; "
                f"expected one of {sorted(fields)}"
            )
        column = log.column(kind, f.name)
        if f.name == "t":
            bound = _time_value(f.value, result.scenario.start_utc, m.text)
            ops = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}
            if f.op in ops:
                keep &= ops[f.op](column, bound)
                continue
            hit = column == bound
        elif fields[f.name] in (str, "str"):
            hit = column == f.value
        elif fields[f.name] in (bool, "bool"):
            hit = column == (f.value.lower() in ("true", "1"))
        else:
            try:
                hit = column == float(f.value)
            except ValueError:
                raise ValueError(
                    f"{m.text!r}: {kind.__name__}.{f.name} is numeric, filter value {f.value!r}"
                ) from None
        keep &= hit if f.op in ("=", ">=", "<=") else ~hit
    return keep


def _window(m: Measure, result: RunResult) -> tuple[float, float]:
    low, high = 0.0, result.scenario.horizon_s
    for f in m.filters:
        bound = _time_value(f.value, result.scenario.start_utc, m.text)
        if f.op in (">=", ">"):
            low = max(low, bound)
        else:
            high = min(high, bound)
    return low, high


def _price(m: Measure, result: RunResult) -> float:
    market = result.market
    if m.asset not in market.assets:
        raise ValueError(f"{m.text!r}: unknown asset {m.asset!r}; expected one of {market.assets}")
    if m.filters:
        return _windowed_price(m, result, *_window(m, result))
    if m.venue == "reference":
        if m.op == "min_price":
            return float(market.min_reference_price(m.asset, result.scenario.horizon_s))
    elif m.venue not in market.venues or market.venues[m.venue].asset != m.asset:
        venues = sorted(v for v, spec in market.venues.items() if spec.asset == m.asset)
        raise ValueError(
            f"{m.text!r}: {m.venue!r} is not a market venue of {m.asset}; "
            f"expected 'reference' or one of {venues}"
        )
    elif m.op == "min_price":
        return float(result.min_prices()[f"{m.asset}@{m.venue}"])
    s = result.price_samples
    values = [
        p for a, v, p in zip(s.asset, s.venue, s.price, strict=True) if (a, v) == (m.asset, m.venue)
    ]
    return float(max(values)) if values else math.nan


def _windowed_price(m: Measure, result: RunResult, low: float, high: float) -> float:
    # A window [low, high]: the reference path at its own resolution (closed at both ends, so a
    # point in time is t>=T,t<=T); a venue's price from the run's samples in the window.
    market = result.market
    pick = max if m.op == "max_price" else min
    if m.venue == "reference":
        dt = market.path(m.asset).dt_s
        grid = np.arange(low, high + dt / 2, dt) if high > low else np.array([low])
        grid = grid[grid <= high]
        if not grid.size:
            return math.nan
        return float(pick(market.reference_prices(m.asset, grid)))
    if m.venue not in market.venues or market.venues[m.venue].asset != m.asset:
        venues = sorted(v for v, spec in market.venues.items() if spec.asset == m.asset)
        raise ValueError(
            f"{m.text!r}: {m.venue!r} is not a market venue of {m.asset}; "
            f"expected 'reference' or one of {venues}"
        )
    s = result.price_samples
    values = [
        p
        for t, a, v, p in zip(s.t, s.asset, s.venue, s.price, strict=True)
        if (a, v) == (m.asset, m.venue) and low <= t <= high
    ]
    return float(pick(values)) if values else math.nan


def evaluate_measure(result: RunResult, measure: str | Measure) -> float:
    """Return the figure `measure` reads off `result` (grammar in the module docstring).

    Raises
    ------
    ValueError
        For an unknown event kind, field, component, metric, asset or venue, naming it and
        what was expected.
    """
    m = parse_measure(measure) if isinstance(measure, str) else measure
    if m.op == "metric":
        return _metric(m, result)
    if m.op in ("min_price", "max_price"):
        return _price(m, result)
    kind = _kind(m.kind, result, m.text)
    fields = _fields(kind)
    if m.field and m.field not in fields:
        raise ValueError(
            f"{m.text!r}: {m.kind} has no field {m.field!r}; expected one of {sorted(fields)}"
        )
    keep = _mask(m, kind, result)
    if m.op == "count":
        return float(keep.sum())
    if m.op in ("first_t", "last_t"):
        t = result.log.column(kind, "t")[keep]
        if not t.size:
            return math.nan
        return float(t.min() if m.op == "first_t" else t.max())
    values = result.log.column(kind, m.field)[keep]
    if m.op == "nunique":
        return float(len(set(values.tolist())))
    if fields[m.field] in (str, "str"):
        raise ValueError(f"{m.text!r}: {m.op} needs a numeric field, {m.kind}.{m.field} is text")
    return _reduce(m.op, values)


def _metric(m: Measure, result: RunResult) -> float:
    metrics = result.component_metrics
    if m.component not in metrics:
        raise ValueError(
            f"{m.text!r}: unknown component {m.component!r}; expected one of {sorted(metrics)}"
        )
    if m.key not in metrics[m.component]:
        raise ValueError(
            f"{m.text!r}: component {m.component!r} has no metric {m.key!r}; "
            f"expected one of {sorted(metrics[m.component])}"
        )
    return float(metrics[m.component][m.key])


def _reduce(op: str, values: NDArray[Any]) -> float:
    if op == "sum":
        return float(np.sum(values, dtype=np.float64))
    if not values.size:
        return math.nan
    return float(values.max() if op == "max" else values.min())


# -- reported.toml ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Figure(_Strict):
    """One reported figure and the measure that reads it off a run."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    measure: str | None = None
    """How to read the figure off a run; omitted for a figure the model does not produce (it
    is listed as context, "not modelled", and never compared with a made-up zero)."""
    value: float | None = Field(default=None, allow_inf_nan=False)
    range: tuple[float, float] | None = None
    unit: Unit
    source: str = Field(min_length=1)
    note: str = ""

    @field_validator("measure")
    @classmethod
    def _measure(cls, text: str | None) -> str | None:
        if text is not None:
            validate_measure(text)
        return text

    @model_validator(mode="after")
    def _value_or_range(self) -> Figure:
        if self.value is None and self.range is None:
            raise ValueError("expected value, range or both")
        if self.range is not None:
            low, high = self.range
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ValueError(f"expected range = [low, high] with low <= high, was {self.range}")
        return self

    @property
    def reported(self) -> float:
        """The point figure: `value`, else the middle of `range`."""
        if self.value is not None:
            return self.value
        assert self.range is not None  # one of the two, checked on validation
        return (self.range[0] + self.range[1]) / 2.0


class Reported(_Strict):
    """The contents of a fixture's ``reported.toml``."""

    event: str = Field(min_length=1)
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    figures: tuple[Figure, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Reported:
        seen: set[str] = set()
        for figure in self.figures:
            if figure.id in seen:
                raise ValueError(f"figure id {figure.id!r} is used twice")
            seen.add(figure.id)
        return self


def load_reported(path: str | Path) -> Reported:
    """Load and validate a ``reported.toml``.

    Raises
    ------
    ScenarioError
        Naming the file, the key path and what was expected.
    """
    path = Path(path)
    raw = read_toml(path)
    try:
        return Reported.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, path) from None


# -- fixtures --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Fixture:
    """A validated fixture folder."""

    path: Path
    scenario: Scenario
    reported: Reported | None
    data_files: tuple[Path, ...]

    @property
    def name(self) -> str:
        """The folder name (the event name)."""
        return self.path.name


def fixture_dir(name_or_path: str | Path) -> Path:
    """Return the folder of a fixture given by name or path."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    candidate = fixtures_root() / str(name_or_path)
    if (candidate / "scenario.toml").is_file():
        return candidate
    names = sorted(p.parent.name for p in fixtures_root().glob("*/scenario.toml"))
    raise ScenarioError(
        f"no such fixture folder; fixtures: {', '.join(names) or 'none'}", file=str(name_or_path)
    )


def load_fixture(name_or_path: str | Path, *, require_reported: bool = False) -> Fixture:
    """Load and check a fixture folder.

    Checks: ``scenario.toml`` loads; ``reported.toml`` (if present, or when
    `require_reported`) loads and its ``event`` equals the folder name; ``README.md`` exists;
    ``data/SOURCES.md`` exists when ``data/`` holds CSVs.

    Raises
    ------
    ScenarioError
        Naming the file and what is wrong.
    """
    folder = fixture_dir(name_or_path)
    scenario = Scenario.from_toml(folder / "scenario.toml")
    if not (folder / "README.md").is_file():
        raise ScenarioError("a fixture needs a README.md", file=folder / "README.md")
    data = tuple(sorted((folder / "data").glob("*.csv")))
    if data and not (folder / "data" / "SOURCES.md").is_file():
        raise ScenarioError(
            "data/ holds CSVs, so it needs a SOURCES.md naming where each came from",
            file=folder / "data" / "SOURCES.md",
        )
    reported = None
    target = folder / "reported.toml"
    if target.is_file() or require_reported:
        reported = load_reported(target)
        if reported.event != folder.name:
            raise ScenarioError(
                f"expected the folder name {folder.name!r}, was {reported.event!r}",
                file=target,
                key_path="event",
            )
    return Fixture(folder, scenario, reported, data)


def parse_assignments(values: Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings as ``--set`` does (VALUE as a TOML value, else a string)."""
    if isinstance(values, Mapping):
        return dict(values)
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ScenarioError(f"expected KEY=VALUE, was {item!r}", key_path="--set")
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw
    return out


# -- the replay ------------------------------------------------------------------------------


def relative_error(simulated: float, reported: float) -> float:
    """Return ``(simulated - reported) / reported``; 0 when both are 0, ±inf when only the
    report is 0, NaN when the simulated figure is NaN.

    Examples
    --------
    >>> relative_error(110.0, 100.0)
    0.1
    >>> relative_error(0.0, 0.0), relative_error(5.0, 0.0), relative_error(-5.0, 0.0)
    (0.0, inf, -inf)
    """
    if math.isnan(simulated) or math.isnan(reported):
        return math.nan
    if reported == 0.0:
        return 0.0 if simulated == 0.0 else math.copysign(math.inf, simulated)
    return (simulated - reported) / reported


@dataclasses.dataclass(frozen=True, slots=True)
class FigureResult:
    """One reported figure next to its simulated value."""

    id: str
    description: str
    unit: str
    measure: str | None
    """None: the model does not produce this figure (`simulated` and `rel_error` are None)."""
    reported: float
    low: float | None
    high: float | None
    simulated: float | None
    rel_error: float | None
    in_range: bool | None
    """Inside [low, high]; None when the report gives no range or the figure is not modelled."""
    source: str
    note: str


def _fmt(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "-"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


@dataclasses.dataclass(frozen=True, slots=True)
class ReplayReport:
    """What `replay` found: each reported figure beside the simulated one, and the mechanism
    the event log shows (liquidations, ADL and bad debt per venue and collateral, UTC times).
    """

    event: str
    title: str
    scenario: str
    scenario_id: str
    seed: int
    overrides: tuple[tuple[str, str], ...]
    figures: tuple[FigureResult, ...]
    mechanism: tuple[str, ...]
    totals: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data (NaN and inf as strings)."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return _fmt(v)
            return v

        return {
            "event": self.event,
            "title": self.title,
            "scenario": self.scenario,
            "scenario_id": self.scenario_id,
            "seed": self.seed,
            "overrides": dict(self.overrides),
            "figures": [
                {k: clean(v) for k, v in dataclasses.asdict(f).items()} for f in self.figures
            ],
            "mechanism": list(self.mechanism),
            "totals": {k: clean(v) for k, v in self.totals},
        }

    def to_json(self) -> str:
        """Return `to_dict` as JSON with sorted keys."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_text(self) -> str:
        """Return the golden summary: deterministic, sorted by figure id, 6 significant digits."""
        lines = [
            f"replay {self.event}: {self.title}",
            f"scenario {self.scenario} id {self.scenario_id} seed {self.seed}",
        ]
        for key, value in sorted(self.overrides):
            lines.append(f"set {key}={value}")
        lines.append(
            "figures (id | unit | reported [low, high] | simulated | rel error | in range)"
        )
        for f in sorted(self.figures, key=lambda f: f.id):
            band = f"[{_fmt(f.low)}, {_fmt(f.high)}]" if f.low is not None else "[-]"
            inside = "-" if f.in_range is None else ("yes" if f.in_range else "no")
            if f.simulated is None:
                lines.append(f"  {f.id} | {f.unit} | {_fmt(f.reported)} {band} | not modelled")
                continue
            lines.append(
                f"  {f.id} | {f.unit} | {_fmt(f.reported)} {band} | {_fmt(f.simulated)} | "
                f"{_fmt(f.rel_error, 4)} | {inside}"
            )
        lines.append("totals")
        lines.extend(f"  {k} = {_fmt(v)}" for k, v in sorted(self.totals))
        lines.append("mechanism")
        lines.extend(f"  {line}" for line in self.mechanism)
        return "\n".join(lines) + "\n"


def _not_modelled(fig: Figure) -> FigureResult:
    low, high = fig.range if fig.range is not None else (None, None)
    return FigureResult(
        id=fig.id,
        description=fig.description,
        unit=fig.unit,
        measure=None,
        reported=fig.reported,
        low=low,
        high=high,
        simulated=None,
        rel_error=None,
        in_range=None,
        source=fig.source,
        note=fig.note,
    )


def _utc(result: RunResult, t: float) -> str:
    when = result.scenario.utc(t)
    return f"t={t:.0f}s" if when is None else when.strftime("%Y-%m-%d %H:%M:%SZ")


def _mechanism(result: RunResult) -> list[str]:
    """Per venue and collateral asset: liquidations, their USD and their UTC span; then ADL and
    bad debt per venue (kinds found by name, so the core imports no plugin).
    """
    log = result.log
    lines: list[str] = []
    if log.count(LiquidationExecuted):
        venue = log.column(LiquidationExecuted, "venue")
        coll = log.column(LiquidationExecuted, "collateral_asset")
        t = log.column(LiquidationExecuted, "t")
        usd = log.column(LiquidationExecuted, "debt_repaid_usd")
        for v, c in sorted(set(zip(venue.tolist(), coll.tolist(), strict=True))):
            pick = (venue == v) & (coll == c)
            lines.append(
                f"liquidations {v} collateral={c}: {int(pick.sum())} fills, "
                f"{_fmt(float(usd[pick].sum()))} USD, "
                f"{_utc(result, float(t[pick].min()))} .. {_utc(result, float(t[pick].max()))}"
            )
    by_name = {k.__name__: k for k in log.kinds}
    adl = by_name.get("AdlExecuted")
    if adl is not None and log.count(adl):
        venue = log.column(adl, "venue")
        t = log.column(adl, "t")
        for v in sorted(set(venue.tolist())):
            pick = venue == v
            lines.append(
                f"adl {v}: {int(pick.sum())} fills, "
                f"{_utc(result, float(t[pick].min()))} .. {_utc(result, float(t[pick].max()))}"
            )
    if log.count(BadDebtRealized):
        venue = log.column(BadDebtRealized, "venue")
        amount = log.column(BadDebtRealized, "amount_usd")
        lines.extend(
            f"bad debt {v}: {_fmt(float(amount[venue == v].sum()))} USD"
            for v in sorted(set(venue.tolist()))
        )
    return lines or ["no liquidations, ADL or bad debt"]


def replay(
    name_or_path: str | Path,
    seed: int | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
) -> ReplayReport:
    """Run a fixture's scenario and compare every reported figure.

    Parameters
    ----------
    name_or_path : str or Path
        A fixture name (``oct-2025``) or folder with ``scenario.toml`` and ``reported.toml``.
    seed : int, optional
        Override the scenario's seed.
    overrides : iterable of str or mapping
        ``KEY=VALUE`` assignments as ``protosim run --set`` takes them (or a dict).
    """
    from protosim.engine import Simulation
    from protosim.registry import default_registry

    fixture = load_fixture(name_or_path, require_reported=True)
    assert fixture.reported is not None  # required above
    scenario = fixture.scenario
    assignments = parse_assignments(overrides)
    if assignments:
        scenario = scenario.with_values(assignments)
        scenario.validate_components(default_registry(), source=fixture.path / "scenario.toml")
    result = Simulation(scenario, seed=seed).run()
    rows = []
    for fig in fixture.reported.figures:
        if fig.measure is None:
            rows.append(_not_modelled(fig))
            continue
        try:
            simulated = evaluate_measure(result, fig.measure)
        except ValueError as exc:
            raise ScenarioError(
                str(exc),
                file=fixture.path / "reported.toml",
                key_path=f"figures[{fixture.reported.figures.index(fig)}].measure",
            ) from None
        low, high = fig.range if fig.range is not None else (None, None)
        inside = None if low is None or high is None else bool(low <= simulated <= high)
        rows.append(
            FigureResult(
                id=fig.id,
                description=fig.description,
                unit=fig.unit,
                measure=fig.measure,
                reported=fig.reported,
                low=low,
                high=high,
                simulated=simulated,
                rel_error=relative_error(simulated, fig.reported),
                in_range=inside,
                source=fig.source,
                note=fig.note,
            )
        )
    summary = result.summary()
    totals = tuple(
        (k, float(summary[k]))
        for k in (
            "events",
            "liquidations",
            "accounts_liquidated",
            "liquidated_debt_usd",
            "bad_debt_usd",
        )
    )
    return ReplayReport(
        event=fixture.reported.event,
        title=fixture.reported.title,
        scenario=scenario.name,
        scenario_id=scenario.id,
        seed=result.seed,
        overrides=tuple(sorted((k, _show(v)) for k, v in assignments.items())),
        figures=tuple(sorted(rows, key=lambda r: r.id)),
        mechanism=tuple(_mechanism(result)),
        totals=totals,
    )


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(value, sort_keys=True, default=str)
