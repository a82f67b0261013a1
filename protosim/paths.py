"""Exogenous price paths: constant, stochastic models, and replays of OHLC bar files.

Every exogenous price in the engine is a `PricePath`, a frozen series sampled every ``dt_s``
seconds from t = 0. Paths are built by `constant_path`, `gbm_path`, `jump_diffusion_path`,
`garch_path`, `bootstrap_path` (from returns such as `log_returns_from_bars` of real bars) or, from
a price CSV read by `load_ohlc_csv`, by `replay_path`. Several assets moving together come from
`correlated_paths` (a correlation matrix) or `factor_paths` (one market factor), both with
optional `CommonJump` crashes.

Randomness always comes from a `numpy.random.Generator` that the caller passes in (a named stream
of the scenario seed); this module never touches the global NumPy or stdlib random state.
"""

from __future__ import annotations

import csv
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from protosim.errors import DataFileError

__all__ = [
    "OHLC_COLUMNS",
    "SECONDS_PER_YEAR",
    "CommonJump",
    "FactorAsset",
    "FillMethod",
    "GbmAsset",
    "OhlcBars",
    "PricePath",
    "bootstrap_path",
    "constant_path",
    "correlated_paths",
    "factor_paths",
    "garch_path",
    "gbm_path",
    "jump_diffusion_path",
    "load_ohlc_csv",
    "log_returns_from_bars",
    "replay_path",
]

SECONDS_PER_YEAR = 365 * 86_400
"""Seconds in the year used to convert annual drift and volatility (a 365-day year)."""

OHLC_COLUMNS = ("time_utc", "open", "high", "low", "close", "volume")
"""The exact header of a price CSV."""

FillMethod = Literal["ohlc_bridge", "step"]
"""How `replay_path` fills the samples inside a bar."""

# A time computed as k * dt_s can land a hair below the k-th grid point (0.1 * 3 < 0.3); this
# slack, in units of grid steps, puts it in cell k as intended.
_GRID_TOL = 1e-9
# Up to this many times, `PricePath.indices_at` works in Python floats.
_FEW_TIMES = 8
# Bar times come from ISO strings with at most microsecond precision.
_TIME_TOL_S = 1e-6

# One parsed CSV row: time, open, high, low, close, volume.
_NEED_RNG = "the 'ohlc_bridge' fill needs rng (a numpy.random.Generator)"

_Row = tuple[datetime, float, float, float, float, float]


def _readonly(values: ArrayLike) -> NDArray[np.float64]:
    out = np.array(values, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


def _n_samples(horizon_s: float, dt_s: float) -> int:
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"expected dt_s > 0, was {dt_s}")
    if not (math.isfinite(horizon_s) and horizon_s > 0):
        raise ValueError(f"expected horizon_s > 0, was {horizon_s}")
    return max(1, math.ceil(horizon_s / dt_s - _GRID_TOL))


def _fmt_utc(when: datetime) -> str:
    text = when.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


@dataclass(frozen=True, slots=True, eq=False)
class PricePath:
    """Exogenous price of one asset on a uniform time grid starting at t = 0 (seconds).

    Parameters
    ----------
    dt_s : float
        Sample spacing in seconds, > 0.
    prices : numpy.ndarray
        ``prices[i]`` holds on ``[i * dt_s, (i + 1) * dt_s)``; finite and > 0. Stored as a
        read-only float64 copy.
    source : str
        Human description: file name and fill method, or ``"gbm(mu=..., sigma=...)"``.

    Examples
    --------
    >>> p = PricePath(dt_s=10.0, prices=np.array([1.0, 2.0, 3.0]), source="example")
    >>> p.price_at(0.0), p.price_at(9.99), p.price_at(10.0), p.price_at(1e6)
    (1.0, 1.0, 2.0, 3.0)
    >>> p.horizon_s
    30.0
    """

    dt_s: float
    prices: NDArray[np.float64]
    source: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.dt_s) and self.dt_s > 0):
            raise ValueError(f"expected dt_s > 0, was {self.dt_s}")
        prices = _readonly(self.prices)
        if prices.ndim != 1 or prices.size == 0:
            raise ValueError(f"expected a non-empty 1-D price array, was shape {prices.shape}")
        bad = ~(np.isfinite(prices) & (prices > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"expected finite prices > 0, was {prices[i]} at index {i}")
        # Frozen dataclass: the validated read-only copy replaces whatever array was passed.
        object.__setattr__(self, "prices", prices)

    def __len__(self) -> int:
        return int(self.prices.size)

    @property
    def horizon_s(self) -> float:
        """Return the time covered by the samples, ``len(prices) * dt_s`` seconds."""
        return self.prices.size * self.dt_s

    @property
    def min_price(self) -> float:
        """Return the lowest price on the path."""
        return float(self.prices.min())

    @property
    def max_price(self) -> float:
        """Return the highest price on the path."""
        return float(self.prices.max())

    def times_s(self) -> NDArray[np.float64]:
        """Return the start time of each sample, ``i * dt_s``."""
        return np.arange(self.prices.size, dtype=np.float64) * self.dt_s

    def index_at(self, t: float) -> int:
        """Return the index of the sample in force at time `t`; beyond the end, the last one.

        Raises
        ------
        ValueError
            If `t` is negative or NaN.
        """
        if not t >= 0:  # also rejects NaN
            raise ValueError(f"expected t >= 0 s, was {t}")
        if math.isinf(t):
            return self.prices.size - 1
        return min(math.floor(t / self.dt_s + _GRID_TOL), self.prices.size - 1)

    def price_at(self, t: float) -> float:
        """Return the price at time `t` (step-hold; beyond the end, the last price).

        Raises
        ------
        ValueError
            If `t` is negative or NaN.
        """
        return float(self.prices[self.index_at(t)])

    def indices_at(self, t: ArrayLike) -> NDArray[np.int64]:
        """Return `index_at` for each time in `t`."""
        ts = np.asarray(t, dtype=np.float64)
        if not (ts >= 0).all():
            i = int(np.argmin(ts >= 0))
            raise ValueError(f"expected t >= 0 s, was {ts.flat[i]} at flat index {i}")
        if ts.ndim == 1 and ts.size <= _FEW_TIMES:
            # A sampler's one time: Python floats are the same IEEE doubles, without the
            # call overhead of five array operations (min before floor, as below: no inf).
            last = float(self.prices.size - 1)
            dt = self.dt_s
            return np.array(
                [math.floor(min(t / dt + _GRID_TOL, last)) for t in ts.tolist()], dtype=np.int64
            )
        cells = ts / self.dt_s
        if not cells.ndim:  # a 0-d `t` gives a numpy scalar, which has no place to write to
            return np.floor(np.minimum(cells + _GRID_TOL, self.prices.size - 1)).astype(np.int64)
        # In place: one temporary, not four, on the day-long grids of a run's minimum.
        cells += _GRID_TOL
        np.minimum(cells, self.prices.size - 1, out=cells)
        np.floor(cells, out=cells)
        return cells.astype(np.int64)

    def prices_at(self, t: ArrayLike) -> NDArray[np.float64]:
        """Return `price_at` for each time in `t`, as a new array of the same shape.

        Examples
        --------
        >>> p = PricePath(dt_s=1.0, prices=np.array([5.0, 6.0]), source="example")
        >>> p.prices_at(np.array([0.0, 0.5, 1.0, 7.0])).tolist()
        [5.0, 5.0, 6.0, 6.0]
        """
        return self.prices[self.indices_at(t)]


def constant_path(price: float, horizon_s: float, dt_s: float = 1.0) -> PricePath:
    """Return a path that holds `price` from 0 to `horizon_s`.

    Parameters
    ----------
    price : float
        The price, > 0.
    horizon_s : float
        Length of the path in seconds; rounded up to a whole number of samples.
    dt_s : float, default 1.0
        Sample spacing in seconds.

    Examples
    --------
    >>> p = constant_path(2000.0, horizon_s=60.0, dt_s=15.0)
    >>> len(p), p.price_at(59.0), p.source
    (4, 2000.0, 'constant(2000.0)')
    """
    n = _n_samples(horizon_s, dt_s)
    return PricePath(dt_s=dt_s, prices=np.full(n, float(price)), source=f"constant({price})")


def gbm_path(
    p0: float,
    mu_per_year: float,
    sigma_per_year: float,
    horizon_s: float,
    dt_s: float,
    rng: np.random.Generator,
) -> PricePath:
    """Return a geometric Brownian motion path sampled exactly (log-normal steps, not Euler).

    The price follows dS = mu S dt + sigma S dW, so each step multiplies the price by
    ``exp((mu - sigma**2 / 2) * h + sigma * sqrt(h) * Z)`` with ``h = dt_s / SECONDS_PER_YEAR``
    (a 365-day year) and Z standard normal from `rng`.

    Parameters
    ----------
    p0 : float
        The first price, > 0.
    mu_per_year : float
        Annual drift of the price (arithmetic, so E[S(t)] = p0 * exp(mu * t)).
    sigma_per_year : float
        Annual volatility, >= 0.
    horizon_s : float
        Length of the path in seconds; rounded up to a whole number of samples.
    dt_s : float
        Sample spacing in seconds.
    rng : numpy.random.Generator
        The named random stream to draw from.

    Examples
    --------
    >>> p = gbm_path(100.0, 0.0, 0.8, horizon_s=3600.0, dt_s=60.0, rng=np.random.default_rng(1))
    >>> len(p), p.prices[0]
    (60, np.float64(100.0))
    >>> gbm_path(100.0, 0.05, 0.0, 3 * 86400.0, 86400.0, np.random.default_rng(1)).prices[2]
    ... # doctest: +ELLIPSIS
    np.float64(100.0274...)
    """
    if not (math.isfinite(p0) and p0 > 0):
        raise ValueError(f"expected p0 > 0, was {p0}")
    if not (math.isfinite(sigma_per_year) and sigma_per_year >= 0):
        raise ValueError(f"expected sigma_per_year >= 0, was {sigma_per_year}")
    if not math.isfinite(mu_per_year):
        raise ValueError(f"expected a finite mu_per_year, was {mu_per_year}")
    n = _n_samples(horizon_s, dt_s)
    h = dt_s / SECONDS_PER_YEAR
    steps = (mu_per_year - 0.5 * sigma_per_year**2) * h + sigma_per_year * math.sqrt(
        h
    ) * rng.standard_normal(n - 1)
    log_rel = np.concatenate(([0.0], np.cumsum(steps)))
    prices = p0 * np.exp(log_rel)
    prices[0] = p0  # exp(0) is exact, but say it: the path starts at p0
    source = f"gbm(mu={mu_per_year}, sigma={sigma_per_year}, dt_s={dt_s})"
    return PricePath(dt_s=dt_s, prices=prices, source=source)


@dataclass(frozen=True, slots=True, eq=False)
class OhlcBars:
    """Bars read from a price CSV: open times and open, high, low, close of each bar.

    Parameters
    ----------
    path : str
        The file the bars came from.
    start_utc : datetime
        Open time of the first bar (timezone-aware, UTC).
    bar_s : float
        Bar length in seconds.
    time_s : numpy.ndarray
        Open time of each bar in seconds after `start_utc`; ``time_s[0] == 0``. Without gaps,
        ``time_s[i] == i * bar_s``; with gaps allowed, the spacing is a whole number of bars or
        more.
    open, high, low, close : numpy.ndarray
        Prices of each bar, finite and > 0, with ``low <= min(open, close)`` and
        ``high >= max(open, close)``.
    volume : numpy.ndarray
        Volume of each bar; NaN where the file leaves it empty.
    """

    path: str
    start_utc: datetime
    bar_s: float
    time_s: NDArray[np.float64]
    open: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]
    volume: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in ("time_s", "open", "high", "low", "close", "volume"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    def __len__(self) -> int:
        return int(self.time_s.size)

    @property
    def end_utc(self) -> datetime:
        """Return the close time of the last bar."""
        return self.start_utc + timedelta(seconds=float(self.time_s[-1]) + self.bar_s)


def _parse_time(file: Path, line: int, text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None:
        raise DataFileError(
            file,
            f"expected an ISO 8601 UTC time such as 2025-10-09T00:00:00Z, was {text!r}",
            line=line,
            field="time_utc",
        )
    if when.utcoffset():
        raise DataFileError(
            file, f"expected a UTC time (Z or +00:00), was {text!r}", line=line, field="time_utc"
        )
    return when


def _parse_price(file: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(
            file, f"expected a number > 0, was {text!r}", line=line, field=field
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise DataFileError(
            file, f"expected a finite number > 0, was {text!r}", line=line, field=field
        )
    return value


def _parse_volume(file: Path, line: int, text: str) -> float:
    if text.strip() == "":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise DataFileError(
            file, f"expected empty or a finite number >= 0, was {text!r}", line=line, field="volume"
        )
    return value


def _check_header(file: Path, header: list[str] | None) -> None:
    if header is None:
        raise DataFileError(file, f"expected header {','.join(OHLC_COLUMNS)}, found an empty file")
    for i, expected in enumerate(OHLC_COLUMNS):
        found = header[i].strip() if i < len(header) else None
        if found != expected:
            raise DataFileError(
                file,
                f"expected header {','.join(OHLC_COLUMNS)}; column {i + 1} should be "
                f"{expected!r}, was {found!r}",
                line=1,
                field=expected,
            )
    if len(header) > len(OHLC_COLUMNS):
        raise DataFileError(
            file,
            f"expected {len(OHLC_COLUMNS)} columns, was {len(header)} (extra {header[6]!r})",
            line=1,
        )


def _parse_row(file: Path, line: int, row: list[str]) -> _Row:
    if len(row) != len(OHLC_COLUMNS):
        missing = OHLC_COLUMNS[len(row)] if len(row) < len(OHLC_COLUMNS) else None
        raise DataFileError(
            file, f"expected {len(OHLC_COLUMNS)} columns, was {len(row)}", line=line, field=missing
        )
    when = _parse_time(file, line, row[0])
    o, h, lo, c = (_parse_price(file, line, OHLC_COLUMNS[i], row[i]) for i in range(1, 5))
    if h < max(o, c):
        raise DataFileError(
            file,
            f"expected high >= max(open, close) = {max(o, c)}, was {row[2]}",
            line=line,
            field="high",
        )
    if lo > min(o, c):
        raise DataFileError(
            file,
            f"expected low <= min(open, close) = {min(o, c)}, was {row[3]}",
            line=line,
            field="low",
        )
    return (when, o, h, lo, c, _parse_volume(file, line, row[5]))


def _check_spacing(
    file: Path,
    times: list[datetime],
    offsets: NDArray[np.float64],
    bar_s: float | None,
    allow_gaps: bool,
) -> float:
    # Row i of the data is on file line i + 2 (the header is line 1).
    diffs = np.diff(offsets)
    order_bad = diffs <= _TIME_TOL_S
    if order_bad.any():
        i = int(np.argmax(order_bad)) + 1
        raise DataFileError(
            file,
            f"expected time_utc strictly after {_fmt_utc(times[i - 1])} (line {i + 1}), "
            f"was {_fmt_utc(times[i])}",
            line=i + 2,
            field="time_utc",
        )
    if bar_s is None:
        if diffs.size == 0:
            raise DataFileError(
                file,
                "expected at least 2 bars to infer the bar spacing (or pass bar_s), found 1",
                line=2,
            )
        # With gaps allowed the smallest spacing is the bar; otherwise the first two bars set it.
        bar_s = float(diffs.min()) if allow_gaps else float(diffs[0])
    elif not (math.isfinite(bar_s) and bar_s > 0):
        raise ValueError(f"expected bar_s > 0, was {bar_s}")
    if allow_gaps:
        spacing_bad = diffs < bar_s - _TIME_TOL_S
        rule = f"at least {bar_s:g} s after"
    else:
        spacing_bad = np.abs(diffs - bar_s) > _TIME_TOL_S
        rule = f"exactly {bar_s:g} s after"
    if spacing_bad.any():
        i = int(np.argmax(spacing_bad)) + 1
        raise DataFileError(
            file,
            f"expected time_utc {rule} {_fmt_utc(times[i - 1])} (line {i + 1}) "
            f"(uniform bar spacing; gaps are not allowed unless allow_gaps=True), "
            f"was {_fmt_utc(times[i])} ({diffs[i - 1]:g} s after)",
            line=i + 2,
            field="time_utc",
        )
    return bar_s


def load_ohlc_csv(
    path: str | Path, *, bar_s: float | None = None, allow_gaps: bool = False
) -> OhlcBars:
    """Read and validate a price CSV with columns ``time_utc,open,high,low,close,volume``.

    Parameters
    ----------
    path : str or Path
        The file. ``time_utc`` is each bar's open time, ISO 8601 in UTC (``...Z``).
    bar_s : float, optional
        Expected bar length in seconds; by default the spacing of the first two bars (or, with
        `allow_gaps`, the smallest spacing in the file).
    allow_gaps : bool, default False
        Accept missing bars (any spacing >= `bar_s`). By default every bar must follow the
        previous one by exactly `bar_s`.

    Returns
    -------
    OhlcBars
        The bars, with read-only arrays.

    Raises
    ------
    DataFileError
        On the first problem, naming the file, the 1-based line (header = line 1), the column,
        what was expected and what was found: a wrong header, a wrong number of columns, an
        unparseable or non-UTC time, a time not strictly after the previous one, a spacing other
        than `bar_s` (unless `allow_gaps`), a price that is not a finite number > 0, high below
        max(open, close), low above min(open, close), a negative or non-finite volume.
    """
    file = Path(path)
    rows: list[_Row] = []
    # utf-8-sig: a byte-order mark written by a spreadsheet must not spoil the first column name.
    with file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        _check_header(file, next(reader, None))
        rows.extend(_parse_row(file, reader.line_num, row) for row in reader)
    if not rows:
        raise DataFileError(file, "expected at least one bar after the header, found none", line=2)
    times = [r[0] for r in rows]
    start = times[0]
    offsets = np.array([(t - start).total_seconds() for t in times], dtype=np.float64)
    bar = _check_spacing(file, times, offsets, bar_s, allow_gaps)
    cols = np.array([r[1:] for r in rows], dtype=np.float64)
    return OhlcBars(
        path=str(file),
        start_utc=start.astimezone(UTC),
        bar_s=bar,
        time_s=offsets,
        open=cols[:, 0],
        high=cols[:, 1],
        low=cols[:, 2],
        close=cols[:, 3],
        volume=cols[:, 4],
    )


def _bridge_knots(
    o: NDArray[np.float64],
    h: NDArray[np.float64],
    lo: NDArray[np.float64],
    c: NDArray[np.float64],
    n: NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    # Four knots per bar at sample positions x0 = 0 <= x1 <= x2 <= x3 = n - 1 within the bar,
    # with values v0..v3. Knots on whole sample positions make the sampled extremes exact.
    u = rng.random((n.size, 3))
    high_first = u[:, 0] < 0.5
    e1 = np.where(high_first, h, lo)
    e2 = np.where(high_first, lo, h)
    # Two distinct interior positions out of m = n - 2, uniformly: draw a from m, b from the
    # m - 1 others.
    m = np.maximum(n - 2, 2)
    a = np.floor(u[:, 1] * m).astype(np.int64)
    b = np.floor(u[:, 2] * (m - 1)).astype(np.int64)
    b += b >= a
    x1 = 1 + np.minimum(a, b)
    x2 = 1 + np.maximum(a, b)
    # Three samples have room for one extreme: the one open and close do not already reach,
    # or the drawn first one when both are missing.
    need_high = h > np.maximum(o, c)
    need_low = lo < np.minimum(o, c)
    mid = np.where(need_high & ~need_low, h, np.where(need_low & ~need_high, lo, e1))

    last = np.maximum(n - 1, 0)
    ge4, is3, is2 = n >= 4, n == 3, n == 2
    x = np.stack(
        [
            np.zeros_like(n),
            np.where(ge4, x1, np.minimum(last, 1)),
            np.where(ge4, x2, np.minimum(last, 1)),
            last,
        ],
        axis=1,
    )
    v = np.stack(
        [
            np.where(n >= 2, o, c),
            np.select([ge4, is3, is2], [e1, mid, c], c),
            np.select([ge4, is3, is2], [e2, mid, c], c),
            c,
        ],
        axis=1,
    )
    return x, v


def _bridge_values(
    bars: OhlcBars,
    k: NDArray[np.int64],
    j: NDArray[np.int64],
    k_first: NDArray[np.int64],
    k_end: NDArray[np.int64],
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    lo_bar, hi_bar = int(j[0]), int(j[-1]) + 1
    sel = slice(lo_bar, hi_bar)
    x, v = _bridge_knots(
        bars.open[sel],
        bars.high[sel],
        bars.low[sel],
        bars.close[sel],
        k_end[sel] - k_first[sel],
        rng,
    )
    jj = j - lo_bar
    pos = k - k_first[j]
    xs, vs = x[jj], v[jj]
    # Segment 0 up to x1, segment 1 up to x2, segment 2 after.
    seg = (pos > xs[:, 1]).astype(np.int64) + (pos > xs[:, 2])
    rows = np.arange(k.size)
    xl, xr = xs[rows, seg], xs[rows, seg + 1]
    vl, vr = vs[rows, seg], vs[rows, seg + 1]
    w = (pos - xl) / np.maximum(xr - xl, 1)
    # vl * (1 - w) + vr * w is exact at w = 0 and w = 1 (unlike vl + (vr - vl) * w), so the knots
    # keep their recorded prices; the clip removes last-bit overshoot between equal knots.
    values = vl * (1.0 - w) + vr * w
    clipped: NDArray[np.float64] = np.clip(values, bars.low[j], bars.high[j])
    return clipped


def replay_path(
    bars: OhlcBars,
    *,
    dt_s: float = 1.0,
    fill: FillMethod = "ohlc_bridge",
    rng: np.random.Generator | None = None,
    start_utc: datetime | None = None,
    horizon_s: float | None = None,
) -> PricePath:
    """Return a path of `bars` resampled every `dt_s` seconds from `start_utc`.

    Sample k is at ``start_utc + k * dt_s`` and belongs to the bar whose interval
    ``[open time, open time + bar_s)`` contains it. Fill methods:

    ``"ohlc_bridge"`` (default)
        Within each bar the path runs open -> high -> low -> close or open -> low -> high ->
        close (the order drawn per bar from `rng`, 50/50), piecewise linear between four knots
        placed on sample positions: the open on the bar's first sample, the close on its last,
        and the two extremes on two distinct interior samples drawn uniformly from `rng`. So on
        the grid each bar's first sample is exactly its open, its last exactly its close, its
        max exactly its high and its min exactly its low, whenever the bar spans >= 4 samples.
        With fewer: 3 samples give open, one extreme, close (the extreme open and close do not
        already reach, or the drawn first one if both are missing); 2 give open, close; 1 gives
        the close (as ``"step"``). A bar cut by `start_utc` or the horizon keeps the knots of the
        whole bar, so its visible part may miss some of them.
    ``"step"``
        Each bar's close is held over the bar. This loses the intra-bar high and low (a crash
        wick disappears); it is meant for coarse runs only. `rng` is not used.

    Samples in a gap between bars (only with ``allow_gaps``) hold the previous bar's close.

    Parameters
    ----------
    bars : OhlcBars
        Bars from `load_ohlc_csv`.
    dt_s : float, default 1.0
        Sample spacing in seconds.
    fill : {"ohlc_bridge", "step"}
        Fill method, recorded in the path's `source` together with `dt_s`.
    rng : numpy.random.Generator, optional
        The named random stream; required for ``"ohlc_bridge"``.
    start_utc : datetime, optional
        Time of sample 0, timezone-aware; default the first bar's open time. Must fall inside
        the bars (before the last bar's close).
    horizon_s : float, optional
        Length of the path in seconds, rounded up to whole samples; default up to the last
        bar's close.

    Raises
    ------
    ValueError
        For a start outside the bars, a horizon past the last bar, a bad `dt_s` or `fill`, or a
        bridge fill without `rng`.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> bars = OhlcBars(path="x.csv", start_utc=datetime(2025, 1, 1, tzinfo=UTC), bar_s=4.0,
    ...     time_s=np.array([0.0, 4.0]), open=np.array([10.0, 9.0]),
    ...     high=np.array([12.0, 9.5]), low=np.array([8.0, 7.0]), close=np.array([9.0, 8.0]),
    ...     volume=np.array([np.nan, np.nan]))
    >>> replay_path(bars, fill="step").prices.tolist()
    [9.0, 9.0, 9.0, 9.0, 8.0, 8.0, 8.0, 8.0]
    >>> p = replay_path(bars, rng=np.random.default_rng(0)).prices.tolist()
    >>> p[0], p[3], sorted(p[:4])
    (10.0, 9.0, [8.0, 9.0, 10.0, 12.0])
    """
    if fill not in ("ohlc_bridge", "step"):
        raise ValueError(f"expected fill 'ohlc_bridge' or 'step', was {fill!r}")
    if fill == "ohlc_bridge" and rng is None:
        raise ValueError(_NEED_RNG)
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"expected dt_s > 0, was {dt_s}")
    end_s = float(bars.time_s[-1]) + bars.bar_s
    end_text = _fmt_utc(bars.end_utc)
    if start_utc is None:
        off0 = 0.0
    else:
        if start_utc.utcoffset() is None:
            raise ValueError(f"expected a timezone-aware start_utc, was naive {start_utc}")
        off0 = (start_utc - bars.start_utc).total_seconds()
        if off0 < 0:
            raise ValueError(
                f"start_utc {_fmt_utc(start_utc)} is before the first bar of {bars.path} "
                f"({_fmt_utc(bars.start_utc)})"
            )
        if off0 >= end_s:
            raise ValueError(
                f"start_utc {_fmt_utc(start_utc)} is at or after the end of the last bar of "
                f"{bars.path} ({end_text})"
            )
    available_s = end_s - off0
    if horizon_s is None:
        horizon_s = available_s
    elif horizon_s > available_s + _TIME_TOL_S:
        raise ValueError(
            f"expected horizon_s <= {available_s:g} s (data of {bars.path} ends {end_text}), "
            f"was {horizon_s:g}"
        )
    n = _n_samples(horizon_s, dt_s)

    # Work in whole grid indices so that every sample falls in exactly one bar, with no
    # floating-point disagreement between "which bar" and "which position inside the bar".
    k_first = np.ceil((bars.time_s - off0) / dt_s - _GRID_TOL).astype(np.int64)
    k_end = np.ceil((bars.time_s + bars.bar_s - off0) / dt_s - _GRID_TOL).astype(np.int64)
    k = np.arange(n, dtype=np.int64)
    j = np.searchsorted(k_first, k, side="right") - 1
    in_bar = k < k_end[j]

    if fill == "step":
        prices = bars.close[j]
    elif rng is None:
        raise ValueError(_NEED_RNG)  # unreachable after the check above; narrows the type
    else:
        prices = np.where(in_bar, _bridge_values(bars, k, j, k_first, k_end, rng), bars.close[j])
    source = (
        f"{Path(bars.path).name} {fill} fill, dt_s={dt_s:g}, from "
        f"{_fmt_utc(bars.start_utc if start_utc is None else start_utc)}"
    )
    return PricePath(dt_s=dt_s, prices=prices, source=source)


# --- Stochastic models --------------------------------------------------------------------------

# Slack of the correlation checks (symmetry, unit diagonal, |rho| <= 1, smallest eigenvalue):
# matrices typed by hand or estimated from data carry rounding of this order, not more.
_CORR_TOL = 1e-10


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite {name}, was {value}")
    return float(value)


def _positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"expected {name} > 0, was {value}")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"expected {name} >= 0, was {value}")
    return float(value)


def _path_from_steps(p0: float, steps: NDArray[np.float64], dt_s: float, source: str) -> PricePath:
    log_rel = np.concatenate(([0.0], np.cumsum(steps)))
    prices = p0 * np.exp(log_rel)
    prices[0] = p0  # exp(0) is exact, but say it: the path starts at p0
    return PricePath(dt_s=dt_s, prices=prices, source=source)


def jump_diffusion_path(
    p0: float,
    mu_per_year: float,
    sigma_per_year: float,
    jump_intensity_per_year: float,
    jump_mean: float,
    jump_sigma: float,
    horizon_s: float,
    dt_s: float,
    rng: np.random.Generator,
) -> PricePath:
    """Return a Merton jump-diffusion path, sampled exactly (no discretisation error).

    The price follows ``dS / S = (mu - lam * kappa) dt + sigma dW + (exp(Y) - 1) dN``: N is a
    Poisson process with `jump_intensity_per_year` = lam events a year, and the log jump sizes
    Y are iid ``N(jump_mean, jump_sigma**2)``. Each step of ``h = dt_s / SECONDS_PER_YEAR`` years
    (a 365-day year) adds the log return::

        (mu - sigma**2 / 2 - lam * kappa) * h + sigma * sqrt(h) * Z + Y_1 + ... + Y_N

    with Z standard normal, ``N ~ Poisson(lam * h)`` and
    ``kappa = E[exp(Y)] - 1 = exp(jump_mean + jump_sigma**2 / 2) - 1``. The compensator
    ``lam * kappa`` keeps `mu_per_year` the drift of the price, jumps included:
    ``E[S(t)] = p0 * exp(mu * t)`` (t in years), as for `gbm_path`. So with downward jumps the
    diffusion drifts up between crashes to pay for them; for a crash that should not be priced
    in, add a `CommonJump` to `correlated_paths` instead.

    Draws from `rng`, in order: the n - 1 diffusion normals (the ones `gbm_path` draws, so
    ``jump_intensity_per_year = 0`` reproduces `gbm_path` with the same seed), the n - 1 jump
    counts, and n - 1 normals Z' for the summed jump sizes, ``N * jump_mean + sqrt(N) *
    jump_sigma * Z'`` (exact: a sum of N iid normals).

    Parameters
    ----------
    p0 : float
        The first price, > 0.
    mu_per_year : float
        Annual drift of the price, jumps included.
    sigma_per_year : float
        Annual volatility of the diffusion part, >= 0.
    jump_intensity_per_year : float
        Expected number of jumps a year, >= 0.
    jump_mean : float
        Mean of the log jump size Y (-0.1 is a typical fall of about 9.5%).
    jump_sigma : float
        Standard deviation of the log jump size, >= 0.
    horizon_s : float
        Length of the path in seconds; rounded up to a whole number of samples.
    dt_s : float
        Sample spacing in seconds.
    rng : numpy.random.Generator
        The named random stream to draw from.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> p = jump_diffusion_path(100.0, 0.0, 0.8, 12.0, -0.1, 0.05, 86_400.0, 60.0, rng)
    >>> len(p), p.prices[0]
    (1440, np.float64(100.0))
    >>> a = gbm_path(100.0, 0.1, 0.8, 3600.0, 1.0, np.random.default_rng(4))
    >>> b = jump_diffusion_path(100.0, 0.1, 0.8, 0.0, -0.1, 0.05, 3600.0, 1.0,
    ...                         np.random.default_rng(4))
    >>> bool(np.array_equal(a.prices, b.prices))
    True
    """
    _positive("p0", p0)
    _finite("mu_per_year", mu_per_year)
    _non_negative("sigma_per_year", sigma_per_year)
    lam = _non_negative("jump_intensity_per_year", jump_intensity_per_year)
    _finite("jump_mean", jump_mean)
    _non_negative("jump_sigma", jump_sigma)
    n = _n_samples(horizon_s, dt_s)
    h = dt_s / SECONDS_PER_YEAR
    kappa = math.expm1(jump_mean + 0.5 * jump_sigma**2)
    # Same expression and draw as gbm_path, with the compensator folded into the drift.
    diffusion = (mu_per_year - 0.5 * sigma_per_year**2 - lam * kappa) * h + sigma_per_year * (
        math.sqrt(h)
    ) * rng.standard_normal(n - 1)
    counts = rng.poisson(lam * h, size=n - 1).astype(np.float64)
    jumps = counts * jump_mean + np.sqrt(counts) * jump_sigma * rng.standard_normal(n - 1)
    source = (
        f"jump_diffusion(mu={mu_per_year}, sigma={sigma_per_year}, "
        f"lambda={jump_intensity_per_year}, jump_mean={jump_mean}, jump_sigma={jump_sigma}, "
        f"dt_s={dt_s})"
    )
    return _path_from_steps(p0, diffusion + jumps, dt_s, source)


def garch_path(
    p0: float,
    omega: float,
    alpha: float,
    beta: float,
    horizon_s: float,
    dt_s: float,
    rng: np.random.Generator,
    mu_per_step: float = 0.0,
    initial_variance: float | None = None,
) -> PricePath:
    """Return a path whose per-step log returns follow a Gaussian GARCH(1,1).

    With ``eps_t = r_t - mu`` the shock of step t, the log return of step t is::

        r_t = mu + sigma_t * Z_t
        sigma_t**2 = omega + alpha * eps_{t-1}**2 + beta * sigma_{t-1}**2

    with Z_t iid standard normal from `rng` and ``sigma_1**2 = initial_variance``. The recursion
    feeds back the shock (the usual GARCH form), which is r_t itself when ``mu_per_step = 0``; so
    the unconditional variance of r_t is ``omega / (1 - alpha - beta)`` whatever mu is, and,
    started there (the default), ``E[r_t**2]`` is exactly that at every step. Large returns raise
    the next variances: volatility clusters, and ``alpha + beta`` sets how long a calm or a storm
    lasts (the half-life is ``log(0.5) / log(alpha + beta)`` steps).

    Units: the parameters are per step of `dt_s` seconds, not per year. `omega` is a variance of
    a per-step log return and `mu_per_step` a per-step log return. A long-run annual volatility
    ``sigma_per_year`` (365-day year) is ``omega = sigma_per_year**2 * dt_s / SECONDS_PER_YEAR *
    (1 - alpha - beta)``. GARCH is not closed under time aggregation, so fit the parameters at
    the `dt_s` you sample.

    Parameters
    ----------
    p0 : float
        The first price, > 0.
    omega : float
        Constant of the variance recursion, > 0 (per-step variance).
    alpha : float
        Weight of the last squared shock, >= 0.
    beta : float
        Weight of the last variance, >= 0; ``alpha + beta < 1``.
    horizon_s : float
        Length of the path in seconds; rounded up to a whole number of samples.
    dt_s : float
        Sample spacing in seconds; the step the parameters refer to.
    rng : numpy.random.Generator
        The named random stream to draw from (n - 1 standard normals).
    mu_per_step : float, default 0.0
        Mean log return per step.
    initial_variance : float, optional
        Conditional variance of the first return, > 0; default ``omega / (1 - alpha - beta)``.

    Raises
    ------
    ValueError
        If ``alpha + beta >= 1`` (no stationary variance), or a parameter is out of range.

    Examples
    --------
    >>> alpha, beta, dt_s = 0.08, 0.9, 60.0
    >>> omega = 0.8**2 * dt_s / SECONDS_PER_YEAR * (1 - alpha - beta)  # 80% a year long-run
    >>> p = garch_path(2000.0, omega, alpha, beta, 86_400.0, dt_s, np.random.default_rng(0))
    >>> len(p), p.prices[0]
    (1440, np.float64(2000.0))
    >>> garch_path(1.0, 1e-6, 0.2, 0.8, 60.0, 1.0, np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    ValueError: expected alpha + beta < 1 (a covariance-stationary GARCH(1,1)), was 1.0 ...
    """
    _positive("p0", p0)
    _positive("omega", omega)
    _non_negative("alpha", alpha)
    _non_negative("beta", beta)
    _finite("mu_per_step", mu_per_step)
    persistence = alpha + beta
    if not persistence < 1.0:
        raise ValueError(
            "expected alpha + beta < 1 (a covariance-stationary GARCH(1,1)), was "
            f"{persistence} (alpha={alpha}, beta={beta})"
        )
    var = omega / (1.0 - persistence)
    if initial_variance is not None:
        var = _positive("initial_variance", initial_variance)
    n = _n_samples(horizon_s, dt_s)
    z = rng.standard_normal(n - 1)
    # The recursion is inherently sequential; plain floats keep the loop about 5x faster than
    # indexing NumPy scalars.
    shocks: list[float] = []
    for zt in z.tolist():
        eps = math.sqrt(var) * zt
        shocks.append(eps)
        var = omega + alpha * eps * eps + beta * var
    steps = mu_per_step + np.array(shocks, dtype=np.float64)
    source = (
        f"garch(omega={omega:g}, alpha={alpha}, beta={beta}, mu_per_step={mu_per_step:g}, "
        f"dt_s={dt_s})"
    )
    return _path_from_steps(p0, steps, dt_s, source)


def log_returns_from_bars(bars: OhlcBars) -> NDArray[np.float64]:
    """Return the close-to-close log returns of `bars`, ``log(close[i + 1] / close[i])``.

    Each return spans exactly one bar, ``bars.bar_s`` seconds, so bootstrap them with
    ``dt_s=bars.bar_s`` (`bootstrap_path`).

    Parameters
    ----------
    bars : OhlcBars
        Bars from `load_ohlc_csv`, at least 2, without gaps.

    Returns
    -------
    numpy.ndarray
        ``len(bars) - 1`` log returns.

    Raises
    ------
    ValueError
        For fewer than 2 bars, or a gap (a return across it would span several bars).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> bars = OhlcBars(path="x.csv", start_utc=datetime(2025, 1, 1, tzinfo=UTC), bar_s=60.0,
    ...     time_s=np.array([0.0, 60.0, 120.0]), open=np.array([10.0, 10.0, 20.0]),
    ...     high=np.array([10.0, 20.0, 20.0]), low=np.array([10.0, 10.0, 10.0]),
    ...     close=np.array([10.0, 20.0, 10.0]), volume=np.full(3, np.nan))
    >>> np.round(log_returns_from_bars(bars) / math.log(2), 12).tolist()
    [1.0, -1.0]
    """
    if len(bars) < 2:
        raise ValueError(f"expected at least 2 bars for a return, was {len(bars)} in {bars.path}")
    spacing = np.diff(bars.time_s)
    gaps = np.abs(spacing - bars.bar_s) > _TIME_TOL_S
    if gaps.any():
        i = int(np.argmax(gaps))
        after = bars.start_utc + timedelta(seconds=float(bars.time_s[i]))
        raise ValueError(
            f"expected bars without gaps (each return spanning one {bars.bar_s:g} s bar), was "
            f"a gap in {bars.path}: the bar after {_fmt_utc(after)} opens {spacing[i]:g} s later"
        )
    returns: NDArray[np.float64] = np.diff(np.log(bars.close))
    return returns


def bootstrap_path(
    returns: ArrayLike,
    p0: float,
    horizon_s: float,
    dt_s: float,
    block_len: int,
    rng: np.random.Generator,
) -> PricePath:
    """Return a path whose log returns are a moving-block bootstrap of `returns`.

    The path's n - 1 log returns are the concatenation of blocks ``returns[s : s + block_len]``,
    the starts s drawn independently and uniformly from ``0 .. len(returns) - block_len`` by
    `rng`, cut to n - 1; the price is ``p0 * exp(cumsum)``. Inside a block the returns keep their
    real order, so volatility clustering, and a crash sequence shorter than a block, survive;
    the dependence is broken only at the seams between blocks.

    Moving blocks (Künsch 1989) rather than the stationary bootstrap (Politis and Romano 1994):
    every block is a contiguous stretch of exactly `block_len` real returns, whereas the
    stationary bootstrap's geometric block lengths make a fraction ``1 / block_len`` of its
    blocks a single return and wrap the sample around, gluing its last return to its first.
    The price of fixed blocks: the resampled series is not exactly stationary (the seams sit
    every `block_len` steps), and the first and last ``block_len - 1`` returns appear in fewer
    blocks, so they are drawn less often than the others.

    The returns must have been measured at `dt_s` (for bars, ``dt_s=bars.bar_s``); they bring
    their own drift and volatility (a crash window bootstraps into paths that mostly fall).

    Parameters
    ----------
    returns : array_like
        1-D, finite log returns at spacing `dt_s`, for example `log_returns_from_bars`.
    p0 : float
        The first price, > 0.
    horizon_s : float
        Length of the path in seconds; rounded up to a whole number of samples.
    dt_s : float
        Sample spacing in seconds; the spacing of `returns`.
    block_len : int
        Length of each block in returns, ``1 <= block_len <= len(returns)``; 1 is the iid
        bootstrap, which keeps the distribution of returns and loses their clustering.
    rng : numpy.random.Generator
        The named random stream to draw from (the block starts).

    Examples
    --------
    >>> r = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    >>> p = bootstrap_path(r, 100.0, horizon_s=7.0, dt_s=1.0, block_len=3,
    ...                    rng=np.random.default_rng(2))
    >>> np.round(np.diff(np.log(p.prices)), 9).tolist()  # two blocks of 3 consecutive returns
    [0.03, 0.04, 0.05, 0.01, 0.02, 0.03]
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"expected a non-empty 1-D array of returns, was shape {r.shape}")
    bad = ~np.isfinite(r)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"expected finite returns, was {r[i]} at index {i}")
    length = operator.index(block_len)
    if not 1 <= length <= r.size:
        raise ValueError(f"expected 1 <= block_len <= {r.size} (the returns given), was {length}")
    _positive("p0", p0)
    n = _n_samples(horizon_s, dt_s)
    n_blocks = -(-(n - 1) // length)
    starts = rng.integers(0, r.size - length + 1, size=n_blocks)
    index = (starts[:, None] + np.arange(length)).ravel()[: n - 1]
    source = f"bootstrap(blocks of {length} of {r.size} returns, dt_s={dt_s})"
    return _path_from_steps(p0, r[index], dt_s, source)


@dataclass(frozen=True, slots=True, kw_only=True)
class GbmAsset:
    """One asset of `correlated_paths`: a GBM with its own start, drift and volatility.

    Parameters
    ----------
    p0 : float
        The first price, > 0.
    mu_per_year : float, default 0.0
        Annual drift of the price: ``E[S(t)] = p0 * exp(mu * t)`` before common jumps.
    sigma_per_year : float
        Annual volatility (365-day year), >= 0.
    """

    p0: float
    mu_per_year: float = 0.0
    sigma_per_year: float

    def __post_init__(self) -> None:
        _positive("p0", self.p0)
        _finite("mu_per_year", self.mu_per_year)
        _non_negative("sigma_per_year", self.sigma_per_year)


@dataclass(frozen=True, slots=True, kw_only=True)
class FactorAsset:
    """One asset of `factor_paths`: its exposure to the market factor and its own noise.

    Parameters
    ----------
    p0 : float
        The first price, > 0.
    mu_per_year : float, default 0.0
        Annual drift of the price: ``E[S(t)] = p0 * exp(mu * t)`` before common jumps.
    beta : float
        Loading on the market factor (1 moves with the market, 0 ignores it, < 0 hedges it).
    idio_sigma_per_year : float
        Annual volatility of the asset's own, idiosyncratic shocks (365-day year), >= 0.
    """

    p0: float
    mu_per_year: float = 0.0
    beta: float
    idio_sigma_per_year: float

    def __post_init__(self) -> None:
        _positive("p0", self.p0)
        _finite("mu_per_year", self.mu_per_year)
        _finite("beta", self.beta)
        _non_negative("idio_sigma_per_year", self.idio_sigma_per_year)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommonJump:
    """A market-wide jump moving several assets together, at fixed or at Poisson times.

    Each event at time t0 moves the log price of asset a by ``log_moves[a]`` (assets not named do
    not move), spread linearly in log price over `duration_s`: the sample at time t gets the
    fraction ``clip((t - t0) / duration_s, 0, 1)`` of the move, or with ``duration_s = 0`` all
    of it from ``t >= t0``. Over an event the price of a is multiplied by exactly
    ``exp(log_moves[a])``, at an even geometric pace. The moves add to the diffusion and are
    not compensated: unlike the Merton jumps of `jump_diffusion_path` they lower ``E[S]`` (a
    stress overlay, not a priced-in risk). Events may overlap; their moves add.

    Parameters
    ----------
    log_moves : Mapping[str, float]
        Log price move of each asset named, finite; stored as a read-only copy. `from_changes`
        builds it from relative changes (-0.15 for a 15% fall).
    at_s : tuple of float, default ()
        Fixed event times in seconds from t = 0, each >= 0. A jump at 0 already moves the first
        sample, so the path then starts at ``p0 * exp(move)``.
    intensity_per_year : float, optional
        Instead of `at_s`: events at the times of a Poisson process with this many events a
        year (365-day year), >= 0, drawn by the path builder from its `rng` over the span of
        the path, ``(len - 1) * dt_s`` seconds.
    duration_s : float, default 0.0
        Time over which each event's move is spread, >= 0.

    Raises
    ------
    ValueError
        If neither or both of `at_s` and `intensity_per_year` are given, or a value is out of
        range.
    """

    log_moves: Mapping[str, float]
    at_s: tuple[float, ...] = ()
    intensity_per_year: float | None = None
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.log_moves:
            raise ValueError("expected log_moves for at least one asset, was empty")
        moves = {str(a): _finite(f"log move of {a}", m) for a, m in self.log_moves.items()}
        object.__setattr__(self, "log_moves", MappingProxyType(moves))
        times = tuple(float(t) for t in self.at_s)
        for t in times:
            _non_negative("at_s", t)
        object.__setattr__(self, "at_s", times)
        if (not times) == (self.intensity_per_year is None):
            raise ValueError(
                "expected exactly one of at_s (fixed times) and intensity_per_year (Poisson "
                f"times), was at_s={times} and intensity_per_year={self.intensity_per_year}"
            )
        if self.intensity_per_year is not None:
            _non_negative("intensity_per_year", self.intensity_per_year)
        _non_negative("duration_s", self.duration_s)

    @classmethod
    def from_changes(
        cls,
        changes: Mapping[str, float],
        *,
        at_s: tuple[float, ...] = (),
        intensity_per_year: float | None = None,
        duration_s: float = 0.0,
    ) -> CommonJump:
        """Return the jump that changes each named price by the relative `changes` (-0.15: -15%).

        Examples
        --------
        >>> j = CommonJump.from_changes({"BTC": -0.15, "SOL": -0.4}, at_s=(600.0,),
        ...                             duration_s=600.0)
        >>> round(math.exp(j.log_moves["BTC"]), 12), round(math.exp(j.log_moves["SOL"]), 12)
        (0.85, 0.6)
        """
        log_moves: dict[str, float] = {}
        for asset, change in changes.items():
            if not (math.isfinite(change) and change > -1):
                raise ValueError(f"expected a change > -1 for {asset}, was {change}")
            log_moves[asset] = math.log1p(change)
        return cls(
            log_moves=log_moves,
            at_s=at_s,
            intensity_per_year=intensity_per_year,
            duration_s=duration_s,
        )


def _jump_offsets(
    jump: CommonJump, names: list[str], n: int, dt_s: float, rng: np.random.Generator
) -> tuple[NDArray[np.float64], int]:
    unknown = [a for a in jump.log_moves if a not in names]
    if unknown:
        raise ValueError(
            f"expected CommonJump assets among {', '.join(names)}, was {', '.join(unknown)}"
        )
    moves = np.array([jump.log_moves.get(a, 0.0) for a in names], dtype=np.float64)
    t = np.arange(n, dtype=np.float64) * dt_s
    if jump.intensity_per_year is None:
        times = np.sort(np.array(jump.at_s, dtype=np.float64))
    else:
        span_s = (n - 1) * dt_s
        count = rng.poisson(jump.intensity_per_year * span_s / SECONDS_PER_YEAR)
        times = np.sort(rng.uniform(0.0, span_s, size=count))
    if jump.duration_s == 0:
        # Events at or before each sample time, with the grid slack of PricePath.index_at.
        done = np.searchsorted(times, t + _GRID_TOL * dt_s, side="right").astype(np.float64)
    else:
        done = np.zeros(n)
        for t0 in times:
            done += np.clip((t - t0) / jump.duration_s, 0.0, 1.0)
    return done[:, None] * moves[None, :], int(times.size)


def _assemble(
    names: list[str],
    p0: NDArray[np.float64],
    steps: NDArray[np.float64],
    dt_s: float,
    jumps: Sequence[CommonJump] | None,
    rng: np.random.Generator,
    sources: list[str],
) -> dict[str, PricePath]:
    n = steps.shape[0] + 1
    log_rel = np.zeros((n, len(names)))
    np.cumsum(steps, axis=0, out=log_rel[1:])
    events = 0
    for jump in jumps or ():
        offsets, count = _jump_offsets(jump, names, n, dt_s, rng)
        log_rel += offsets
        events += count
    prices = p0[None, :] * np.exp(log_rel)
    tail = f" + {events} common jump events" if jumps else ""
    return {
        name: PricePath(dt_s=dt_s, prices=prices[:, i], source=sources[i] + tail)
        for i, name in enumerate(names)
    }


def _correlation_root(names: list[str], correlation: ArrayLike) -> NDArray[np.float64]:
    # Return L with L @ L.T == correlation, after checking the matrix, naming rows and columns.
    c = np.array(correlation, dtype=np.float64)
    k = len(names)
    label = [f"{i} ({name})" for i, name in enumerate(names)]
    if c.shape != (k, k):
        raise ValueError(
            f"expected a {k}x{k} correlation matrix (rows and columns: {', '.join(names)}), "
            f"was shape {c.shape}"
        )
    bad = ~np.isfinite(c)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise ValueError(
            f"expected finite correlations, was {c[i, j]} at row {label[i]}, column {label[j]}"
        )
    off_diag = np.abs(np.diag(c) - 1.0) > _CORR_TOL
    if off_diag.any():
        i = int(np.argmax(off_diag))
        raise ValueError(f"expected a unit diagonal, was {c[i, i]} at row/column {label[i]}")
    asym = np.triu(np.abs(c - c.T) > _CORR_TOL)
    if asym.any():
        i, j = (int(x) for x in np.argwhere(asym)[0])
        raise ValueError(
            f"expected a symmetric matrix, was {c[i, j]} at row {label[i]}, column {label[j]} "
            f"but {c[j, i]} at row {label[j]}, column {label[i]}"
        )
    beyond = np.abs(c) > 1.0 + _CORR_TOL
    if beyond.any():
        i, j = (int(x) for x in np.argwhere(beyond)[0])
        raise ValueError(
            f"expected correlations in [-1, 1], was {c[i, j]} at row {label[i]}, column {label[j]}"
        )
    c = 0.5 * (c + c.T)
    np.fill_diagonal(c, 1.0)
    try:
        return np.asarray(np.linalg.cholesky(c), dtype=np.float64)
    except np.linalg.LinAlgError:
        pass  # singular or indefinite: the eigen decomposition tells which
    w, v = np.linalg.eigh(c)
    if w[0] < -_CORR_TOL:
        # Name the asset whose row and column first make the matrix indefinite: the smallest
        # leading block with a negative eigenvalue ends with it.
        m = next(m for m in range(2, k + 1) if np.linalg.eigvalsh(c[:m, :m])[0] < -_CORR_TOL)
        raise ValueError(
            f"expected a positive semi-definite correlation matrix, was indefinite (smallest "
            f"eigenvalue {w[0]:.3g}): row/column {label[m - 1]} is inconsistent with the rows "
            f"and columns before it"
        )
    # Positive semi-definite but singular (say two assets with correlation 1): no Cholesky
    # factor exists, but V sqrt(W) is a root; rounding-level negative eigenvalues count as 0.
    return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)), dtype=np.float64)


def correlated_paths(
    specs: Mapping[str, GbmAsset],
    correlation: ArrayLike,
    horizon_s: float,
    dt_s: float,
    rng: np.random.Generator,
    *,
    jumps: Sequence[CommonJump] | None = None,
) -> dict[str, PricePath]:
    """Return GBM paths of several assets with correlated shocks, plus optional common jumps.

    Asset i (in the order of `specs`, which is the order of the rows of `correlation`) takes,
    with ``h = dt_s / SECONDS_PER_YEAR`` years (a 365-day year), the log steps::

        (mu_i - sigma_i**2 / 2) * h + sigma_i * sqrt(h) * W_i,    W = L @ Z,

    with Z a vector of iid standard normals from `rng` per step and ``L @ L.T = correlation``:
    each asset alone is exact GBM (as `gbm_path`) and ``corr(W_i, W_j) = correlation[i, j]``. L
    is the Cholesky factor; a positive semi-definite but singular matrix (say two assets with
    correlation 1) has none, and then ``L = V @ diag(sqrt(w))`` from the eigen decomposition
    ``correlation = V @ diag(w) @ V.T``. The `jumps` are then added to the log prices (see
    `CommonJump`). Draws: the (n - 1) x k normals, then each Poisson `CommonJump`'s count and
    times, in order.

    Parameters
    ----------
    specs : Mapping[str, GbmAsset]
        The assets by name, in the order of the matrix rows.
    correlation : array_like
        k x k correlation matrix of the Gaussian shocks: finite, symmetric, unit diagonal,
        positive semi-definite (each within 1e-10).
    horizon_s : float
        Length of the paths in seconds; rounded up to a whole number of samples.
    dt_s : float
        Sample spacing in seconds.
    rng : numpy.random.Generator
        The named random stream to draw from.
    jumps : sequence of CommonJump, optional
        Market-wide jumps; each may name any of the assets.

    Returns
    -------
    dict of str to PricePath
        One path per asset, in the order of `specs`.

    Raises
    ------
    ValueError
        For a matrix of the wrong shape, non-finite, not symmetric, without a unit diagonal,
        with a correlation outside [-1, 1] or not positive semi-definite (naming the row and
        column), or a jump naming an unknown asset.

    Examples
    --------
    >>> specs = {"BTC": GbmAsset(p0=100_000.0, sigma_per_year=0.0),
    ...          "SOL": GbmAsset(p0=200.0, sigma_per_year=0.0)}
    >>> crash = CommonJump.from_changes({"BTC": -0.15, "SOL": -0.4}, at_s=(600.0,),
    ...                                 duration_s=600.0)
    >>> paths = correlated_paths(specs, [[1.0, 0.8], [0.8, 1.0]], 1800.0, 60.0,
    ...                          np.random.default_rng(0), jumps=[crash])
    >>> [round(p.price_at(1200.0) / p.price_at(600.0), 12) for p in paths.values()]
    [0.85, 0.6]
    >>> correlated_paths(specs, [[1.0, 0.8], [0.7, 1.0]], 60.0, 1.0, np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    ValueError: expected a symmetric matrix, was 0.8 at row 0 (BTC), column 1 (SOL) but 0.7 ...
    """
    names = list(specs)
    if not names:
        raise ValueError("expected at least one asset in specs, was none")
    root = _correlation_root(names, correlation)
    n = _n_samples(horizon_s, dt_s)
    h = dt_s / SECONDS_PER_YEAR
    mu = np.array([specs[a].mu_per_year for a in names], dtype=np.float64)
    sigma = np.array([specs[a].sigma_per_year for a in names], dtype=np.float64)
    shocks = rng.standard_normal((n - 1, len(names))) @ root.T
    steps = (mu - 0.5 * sigma**2) * h + sigma * math.sqrt(h) * shocks
    p0 = np.array([specs[a].p0 for a in names], dtype=np.float64)
    sources = [
        f"correlated_gbm(mu={specs[a].mu_per_year}, sigma={specs[a].sigma_per_year}, "
        f"dt_s={dt_s}; with {', '.join(x for x in names if x != a) or 'no other asset'})"
        for a in names
    ]
    return _assemble(names, p0, steps, dt_s, jumps, rng, sources)


def factor_paths(
    specs: Mapping[str, FactorAsset],
    factor_sigma_per_year: float,
    horizon_s: float,
    dt_s: float,
    rng: np.random.Generator,
    *,
    jumps: Sequence[CommonJump] | None = None,
) -> dict[str, PricePath]:
    """Return GBM paths of several assets driven by one market factor, plus optional jumps.

    An alternative to `correlated_paths` that needs k betas instead of a k x k matrix, and is
    positive semi-definite by construction. With ``h = dt_s / SECONDS_PER_YEAR`` years (a 365-day
    year), asset i takes the log steps::

        (mu_i - s_i**2 / 2) * h + sqrt(h) * (beta_i * sigma_f * F + idio_i * E_i)

    with F (the factor, shared) and E_i (per asset) iid standard normals from `rng` each step,
    ``sigma_f = factor_sigma_per_year``, ``idio_i = idio_sigma_per_year`` and the total annual
    volatility ``s_i = sqrt(beta_i**2 * sigma_f**2 + idio_i**2)``. So each asset alone is exact
    GBM with volatility s_i and drift mu_i, and two assets i != j have shock correlation
    ``beta_i * beta_j * sigma_f**2 / (s_i * s_j)``. The `jumps` are then added to the log prices
    (see `CommonJump`). Draws: (n - 1) x (k + 1) normals (column 0 the factor), then each
    Poisson `CommonJump`'s count and times, in order.

    Parameters
    ----------
    specs : Mapping[str, FactorAsset]
        The assets by name.
    factor_sigma_per_year : float
        Annual volatility of the market factor, >= 0.
    horizon_s : float
        Length of the paths in seconds; rounded up to a whole number of samples.
    dt_s : float
        Sample spacing in seconds.
    rng : numpy.random.Generator
        The named random stream to draw from.
    jumps : sequence of CommonJump, optional
        Market-wide jumps; each may name any of the assets.

    Returns
    -------
    dict of str to PricePath
        One path per asset, in the order of `specs`.

    Examples
    --------
    >>> specs = {"BTC": FactorAsset(p0=1e5, beta=1.0, idio_sigma_per_year=0.0),
    ...          "ETH": FactorAsset(p0=4e3, beta=1.5, idio_sigma_per_year=0.0)}
    >>> paths = factor_paths(specs, 0.5, 3600.0, 60.0, np.random.default_rng(0))
    >>> r = [np.diff(np.log(p.prices)) for p in paths.values()]
    >>> round(float(np.corrcoef(r)[0, 1]), 9)  # no idiosyncratic noise: perfectly correlated
    1.0
    """
    names = list(specs)
    if not names:
        raise ValueError("expected at least one asset in specs, was none")
    sigma_f = _non_negative("factor_sigma_per_year", factor_sigma_per_year)
    n = _n_samples(horizon_s, dt_s)
    h = dt_s / SECONDS_PER_YEAR
    mu = np.array([specs[a].mu_per_year for a in names], dtype=np.float64)
    beta = np.array([specs[a].beta for a in names], dtype=np.float64)
    idio = np.array([specs[a].idio_sigma_per_year for a in names], dtype=np.float64)
    total_var = beta**2 * sigma_f**2 + idio**2
    z = rng.standard_normal((n - 1, len(names) + 1))
    shocks = beta * sigma_f * z[:, :1] + idio * z[:, 1:]
    steps = (mu - 0.5 * total_var) * h + math.sqrt(h) * shocks
    p0 = np.array([specs[a].p0 for a in names], dtype=np.float64)
    sources = [
        f"factor_gbm(mu={specs[a].mu_per_year}, beta={specs[a].beta}, factor_sigma={sigma_f}, "
        f"idio_sigma={specs[a].idio_sigma_per_year}, dt_s={dt_s})"
        for a in names
    ]
    return _assemble(names, p0, steps, dt_s, jumps, rng, sources)
