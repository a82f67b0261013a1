"""Exogenous price paths: constant, geometric Brownian motion, and replays of OHLC bar files.

Every exogenous price in the engine is a `PricePath`, a frozen series sampled every ``dt_s``
seconds from t = 0. Paths are built by `constant_path`, `gbm_path` or, from a price CSV read by
`load_ohlc_csv`, by `replay_path`.

Randomness always comes from a `numpy.random.Generator` that the caller passes in (a named stream
of the scenario seed); this module never touches the global NumPy or stdlib random state.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from protosim.errors import DataFileError

__all__ = [
    "OHLC_COLUMNS",
    "SECONDS_PER_YEAR",
    "FillMethod",
    "OhlcBars",
    "PricePath",
    "constant_path",
    "gbm_path",
    "load_ohlc_csv",
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
        cells = np.floor(np.minimum(ts / self.dt_s + _GRID_TOL, self.prices.size - 1))
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
