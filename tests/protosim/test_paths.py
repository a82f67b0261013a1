"""Tests of protosim.paths: price paths, OHLC CSV loading and validation, bar replay fills.

The CSVs under ``data/`` are hand-written (not market data): ``ohlc_good_5m.csv`` is valid and
each ``bad_*.csv`` holds exactly one problem, named by its file name.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from protosim.errors import DataFileError
from protosim.paths import (
    SECONDS_PER_YEAR,
    OhlcBars,
    PricePath,
    constant_path,
    gbm_path,
    load_ohlc_csv,
    replay_path,
)

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ETH_5M = SHARED / "data" / "prices" / "oct-2025" / "binance_ETHUSDT_5m.csv"
T0 = datetime(2025, 10, 10, 21, 0, tzinfo=UTC)


def _bars(
    o: list[float], h: list[float], lo: list[float], c: list[float], bar_s: float = 300.0
) -> OhlcBars:
    n = len(o)
    return OhlcBars(
        path="synthetic.csv",
        start_utc=T0,
        bar_s=bar_s,
        time_s=np.arange(n) * bar_s,
        open=np.array(o),
        high=np.array(h),
        low=np.array(lo),
        close=np.array(c),
        volume=np.full(n, np.nan),
    )


def _per_bar(prices: NDArray[np.float64], n_bars: int) -> NDArray[np.float64]:
    assert prices.size % n_bars == 0
    return prices.reshape(n_bars, prices.size // n_bars)


def _assert_ohlc_kept(prices: NDArray[np.float64], bars: OhlcBars) -> None:
    per_bar = _per_bar(prices, len(bars))
    np.testing.assert_array_equal(per_bar[:, 0], bars.open)
    np.testing.assert_array_equal(per_bar.max(axis=1), bars.high)
    np.testing.assert_array_equal(per_bar.min(axis=1), bars.low)
    np.testing.assert_array_equal(per_bar[:, -1], bars.close)


@pytest.fixture(scope="module")
def good() -> OhlcBars:
    return load_ohlc_csv(DATA / "ohlc_good_5m.csv")


@pytest.fixture(scope="module")
def eth_5m() -> OhlcBars:
    if not ETH_5M.is_file():
        pytest.skip(f"shared price data not found at {ETH_5M} (expected ../shared next to repo)")
    return load_ohlc_csv(ETH_5M)


# --- PricePath ----------------------------------------------------------------------------------


def test_price_at_bar_boundary_switches_to_next_sample() -> None:
    """price_at holds prices[i] on [i*dt, (i+1)*dt), holds the last price beyond the end."""
    p = PricePath(dt_s=0.1, prices=np.array([1.0, 2.0, 3.0, 4.0]), source="t")
    assert p.price_at(0.0) == 1.0
    assert p.price_at(0.0999) == 1.0
    assert p.price_at(0.1) == 2.0
    # 3 * 0.1 is 0.30000000000000004 and 0.3 / 0.1 is 2.9999999999999996: both are sample 3.
    assert p.price_at(3 * 0.1) == 4.0
    assert p.price_at(0.3) == 4.0
    assert p.price_at(0.2999) == 3.0
    assert p.price_at(0.4) == 4.0
    assert p.price_at(1e9) == 4.0
    assert p.price_at(math.inf) == 4.0
    assert p.index_at(0.25) == 2
    assert p.horizon_s == pytest.approx(0.4)


@pytest.mark.parametrize("t", [-1e-9, -5.0, math.nan])
def test_price_at_negative_or_nan_time_raises(t: float) -> None:
    """A time before 0 (or NaN) is a ValueError, scalar and vectorized."""
    p = constant_path(10.0, horizon_s=10.0)
    with pytest.raises(ValueError, match="expected t >= 0"):
        p.price_at(t)
    with pytest.raises(ValueError, match="expected t >= 0"):
        p.prices_at(np.array([1.0, t]))


def test_prices_at_matches_price_at_elementwise() -> None:
    """The vectorized lookup equals the scalar one at every time, including past the end."""
    p = PricePath(dt_s=2.0, prices=np.array([5.0, 6.0, 7.0]), source="t")
    ts = np.array([0.0, 1.999, 2.0, 3.0, 4.0, 5.999, 6.0, 100.0])
    assert p.prices_at(ts).tolist() == [p.price_at(float(t)) for t in ts]
    assert p.prices_at(ts).tolist() == [5.0, 5.0, 6.0, 6.0, 7.0, 7.0, 7.0, 7.0]


def test_price_path_prices_are_read_only_copy() -> None:
    """The stored prices are a read-only copy: the caller's array can't change the path."""
    src = np.array([1.0, 2.0])
    p = PricePath(dt_s=1.0, prices=src, source="t")
    src[0] = 99.0
    assert p.prices[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        p.prices[0] = 3.0


@pytest.mark.parametrize(
    ("prices", "dt_s"), [([1.0, 0.0], 1.0), ([1.0, np.nan], 1.0), ([], 1.0), ([1.0], 0.0)]
)
def test_price_path_invalid_input_raises(prices: list[float], dt_s: float) -> None:
    """Prices must be finite and > 0, non-empty, and dt_s > 0."""
    with pytest.raises(ValueError, match="expected"):
        PricePath(dt_s=dt_s, prices=np.array(prices), source="t")


def test_constant_path_rounds_horizon_up_to_whole_samples() -> None:
    """A constant path has ceil(horizon / dt) samples, all equal to the price."""
    p = constant_path(3.5, horizon_s=10.0, dt_s=3.0)
    assert len(p) == 4
    assert p.prices.tolist() == [3.5] * 4
    assert (p.min_price, p.max_price) == (3.5, 3.5)


# --- GBM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mu", [0.0, 1.0])
def test_gbm_log_returns_match_mu_sigma_within_five_standard_errors(mu: float) -> None:
    """Log returns of exact GBM have mean (mu - sigma^2/2) h and variance sigma^2 h."""
    sigma, dt_s, n = 1.0, 86_400.0, 200_001
    p = gbm_path(50.0, mu, sigma, horizon_s=n * dt_s, dt_s=dt_s, rng=np.random.default_rng(7))
    assert len(p) == n
    assert p.prices[0] == 50.0
    r = np.diff(np.log(p.prices))
    h = dt_s / (365 * 86_400)
    m = r.size
    mean_expected = (mu - sigma**2 / 2) * h
    var_expected = sigma**2 * h
    # Standard error of the sample mean: sqrt(var / m); of the sample variance of normal draws:
    # var * sqrt(2 / (m - 1)). With sigma = 1 the Itô term sigma^2 h / 2 = 1.37e-3 is about
    # 12 standard errors (1.17e-4), so an Euler-style drift of mu * h would fail this test.
    se_mean = math.sqrt(var_expected / m)
    se_var = var_expected * math.sqrt(2.0 / (m - 1))
    assert abs(r.mean() - mean_expected) < 5 * se_mean
    assert abs(r.var(ddof=1) - var_expected) < 5 * se_var
    assert abs(mu * h - mean_expected) > 10 * se_mean  # the test can tell the drift terms apart


def test_gbm_uses_365_day_year_and_is_reproducible() -> None:
    """With sigma = 0 the path is p0 * exp(mu * t / year); the same seed gives the same path."""
    p = gbm_path(
        100.0, 0.5, 0.0, horizon_s=4 * 86_400.0, dt_s=86_400.0, rng=np.random.default_rng(1)
    )
    assert SECONDS_PER_YEAR == 31_536_000
    expected = 100.0 * np.exp(0.5 * np.arange(4) / 365.0)
    np.testing.assert_allclose(p.prices, expected, rtol=1e-12)
    a = gbm_path(1.0, 0.1, 0.9, 3600.0, 1.0, np.random.default_rng(3))
    b = gbm_path(1.0, 0.1, 0.9, 3600.0, 1.0, np.random.default_rng(3))
    np.testing.assert_array_equal(a.prices, b.prices)
    assert "gbm(mu=0.1, sigma=0.9" in a.source


# --- load_ohlc_csv ------------------------------------------------------------------------------


def test_load_ohlc_csv_reads_values_and_empty_volume_as_nan(good: OhlcBars) -> None:
    """A valid file gives its start time, bar length and columns; an empty volume is NaN."""
    assert good.start_utc == T0
    assert good.bar_s == 300.0
    assert good.time_s.tolist() == [0.0, 300.0, 600.0, 900.0]
    assert good.open.tolist() == [100.0, 101.0, 92.0, 96.0]
    assert good.high.tolist() == [104.0, 101.5, 97.0, 96.0]
    assert good.low.tolist() == [99.0, 90.0, 91.0, 95.0]
    assert good.close.tolist() == [101.0, 92.0, 96.0, 95.5]
    assert math.isnan(good.volume[1])
    assert good.volume[2] == 30.0
    assert good.end_utc == T0 + timedelta(minutes=20)
    assert not good.close.flags.writeable


@pytest.mark.parametrize(
    ("name", "line", "column", "fragments"),
    [
        ("bad_header.csv", 1, "time_utc", ["'time_utc'", "was 'time'"]),
        (
            "bad_time_order.csv",
            4,
            "time_utc",
            [
                "expected time_utc strictly after 2025-10-10T21:05:00Z (line 3)",
                "was 2025-10-10T21:00:00Z",
            ],
        ),
        (
            "bad_time_duplicate.csv",
            5,
            "time_utc",
            ["strictly after 2025-10-10T21:10:00Z (line 4)", "was 2025-10-10T21:10:00Z"],
        ),
        ("bad_nan.csv", 3, "low", ["finite number > 0", "'NaN'"]),
        ("bad_nonpositive.csv", 4, "open", ["number > 0", "was '0'"]),
        ("bad_high_below_close.csv", 3, "high", ["high >= max(open, close) = 101.75", "was 101.5"]),
        (
            "bad_gap.csv",
            5,
            "time_utc",
            [
                "exactly 300 s after 2025-10-10T21:10:00Z (line 4)",
                "was 2025-10-10T21:20:00Z (600 s after)",
            ],
        ),
    ],
)
def test_load_ohlc_csv_bad_file_names_file_line_and_column(
    name: str, line: int, column: str, fragments: list[str]
) -> None:
    """Each malformed file raises DataFileError naming the file, the line and the column."""
    path = DATA / name
    with pytest.raises(DataFileError) as info:
        load_ohlc_csv(path)
    err = info.value
    assert (err.file, err.line, err.field) == (str(path), line, column)
    text = str(err)
    assert text.startswith(f"{path}, line {line}, column {column}: expected ")
    for fragment in fragments:
        assert fragment in text


def test_load_ohlc_csv_gap_allowed_holds_previous_close_in_gap() -> None:
    """With allow_gaps the file loads, and replay holds the last close through the missing bar."""
    bars = load_ohlc_csv(DATA / "bad_gap.csv", allow_gaps=True)
    assert bars.bar_s == 300.0
    assert bars.time_s.tolist() == [0.0, 300.0, 600.0, 1200.0]
    p = replay_path(bars, dt_s=60.0, rng=np.random.default_rng(0))
    assert len(p) == 25  # 21:00 .. 21:25
    # Bar 3 (21:10) closes at 96.0; 21:15..21:20 is the gap.
    assert p.prices[14] == 96.0
    assert p.prices[15:20].tolist() == [96.0] * 5
    assert p.prices[20] == 96.0  # open of the 21:20 bar
    assert p.prices[24] == 95.5


# --- replay_path --------------------------------------------------------------------------------


def test_bridge_keeps_each_bar_ohlc_exactly_on_small_file(good: OhlcBars) -> None:
    """On a 1 s grid each 5-minute bar's first, max, min and last sample are its o, h, l, c."""
    p = replay_path(good, dt_s=1.0, rng=np.random.default_rng(11))
    assert len(p) == 4 * 300
    _assert_ohlc_kept(p.prices, good)


def test_bridge_keeps_ohlc_on_real_eth_file_and_window_low_is_path_min(eth_5m: OhlcBars) -> None:
    """On real Binance ETH 5m bars the path min is the window low 3435.0, inside the 21:20 bar."""
    start = datetime(2025, 10, 9, 12, tzinfo=UTC)
    p = replay_path(eth_5m, rng=np.random.default_rng(2025), start_utc=start, horizon_s=48 * 3600.0)
    assert len(p) == 172_800
    first_bar = 12 * 12  # 2025-10-09T12:00Z is bar 144 of the file
    window = _bars(
        list(eth_5m.open[first_bar : first_bar + 576]),
        list(eth_5m.high[first_bar : first_bar + 576]),
        list(eth_5m.low[first_bar : first_bar + 576]),
        list(eth_5m.close[first_bar : first_bar + 576]),
    )
    _assert_ohlc_kept(p.prices, window)
    assert p.min_price == 3435.0
    low_time = datetime(2025, 10, 10, 21, 20, tzinfo=UTC)
    k = 45 * 12 + 4  # 21:20 on the second day is 45 h 20 min after the file's first bar
    assert eth_5m.start_utc + timedelta(seconds=float(eth_5m.time_s[k])) == low_time
    assert eth_5m.low[k] == 3435.0
    low_bar_t = (low_time - start).total_seconds()
    assert low_bar_t <= p.times_s()[int(np.argmin(p.prices))] < low_bar_t + 300.0
    assert p.price_at(low_bar_t) == eth_5m.open[k]
    assert p.price_at(low_bar_t + 299.0) == eth_5m.close[k]


def test_bridge_same_seed_same_path_other_seed_other_times_same_ohlc(good: OhlcBars) -> None:
    """Equal seeds give identical paths; another seed moves the intra-bar knots, not the OHLC."""
    a = replay_path(good, rng=np.random.default_rng(5))
    b = replay_path(good, rng=np.random.default_rng(5))
    c = replay_path(good, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, c.prices)
    _assert_ohlc_kept(c.prices, good)
    # The extremes sit at different samples of some bar.
    pa, pc = _per_bar(a.prices, 4), _per_bar(c.prices, 4)
    assert (pa.argmin(axis=1) != pc.argmin(axis=1)).any()


def test_bridge_visits_high_first_about_half_the_bars() -> None:
    """The high-before-low order is a fair coin per bar (within 5 binomial standard errors)."""
    n = 4000
    bars = _bars([10.0] * n, [12.0] * n, [8.0] * n, [10.0] * n, bar_s=10.0)
    p = replay_path(bars, dt_s=1.0, rng=np.random.default_rng(9))
    per_bar = _per_bar(p.prices, n)
    high_first = per_bar.argmax(axis=1) < per_bar.argmin(axis=1)
    assert abs(high_first.mean() - 0.5) < 5 * math.sqrt(0.25 / n)
    # The extremes use interior samples only (positions 1..8 of 10).
    assert per_bar.argmax(axis=1).min() >= 1
    assert per_bar.argmin(axis=1).max() <= 8


def test_step_fill_holds_each_bar_close(good: OhlcBars) -> None:
    """Step fill holds the bar's close on every sample of the bar and records itself in source."""
    p = replay_path(good, dt_s=30.0, fill="step")
    assert len(p) == 40
    assert _per_bar(p.prices, 4).tolist() == [[c] * 10 for c in [101.0, 92.0, 96.0, 95.5]]
    assert "step" in p.source
    assert "dt_s=30" in p.source
    assert "ohlc_good_5m.csv" in p.source


def test_bridge_with_three_samples_per_bar_keeps_open_close_and_missing_extreme(
    good: OhlcBars,
) -> None:
    """With 3 samples a bar shows open, the extreme open/close miss (or a drawn one), close."""
    p = replay_path(good, dt_s=100.0, rng=np.random.default_rng(0))
    per_bar = _per_bar(p.prices, 4)
    assert per_bar[:, 0].tolist() == [100.0, 101.0, 92.0, 96.0]
    assert per_bar[:, 2].tolist() == [101.0, 92.0, 96.0, 95.5]
    # Bar 2 (o 101, h 101.5, l 90, c 92) needs both: the drawn one. Bar 4 (o 96 = h) needs the low.
    assert per_bar[1, 1] in (101.5, 90.0)
    assert per_bar[3, 1] == 95.0


def test_bridge_with_one_sample_per_bar_equals_step(good: OhlcBars) -> None:
    """With one sample per bar the bridge gives the close, like step fill."""
    p = replay_path(good, dt_s=300.0, rng=np.random.default_rng(0))
    assert p.prices.tolist() == [101.0, 92.0, 96.0, 95.5]


def test_replay_start_mid_bar_and_horizon_cut(good: OhlcBars) -> None:
    """A start inside a bar begins the grid there; the horizon may cut the path inside a bar."""
    start = T0 + timedelta(minutes=7)
    p = replay_path(good, dt_s=1.0, rng=np.random.default_rng(1), start_utc=start, horizon_s=300.0)
    assert len(p) == 300  # 21:07:00 .. 21:11:59
    assert p.prices[179] == 92.0  # 21:09:59, the last second of the 21:05 bar, is its close
    assert p.prices[180] == 92.0  # 21:10:00, the open of the 21:10 bar
    assert p.min_price >= 90.0
    assert p.max_price <= 101.5
    full = replay_path(good, dt_s=1.0, rng=np.random.default_rng(1), start_utc=start)
    assert full.horizon_s == 13 * 60.0


@pytest.mark.parametrize(
    ("start", "horizon_s", "match"),
    [
        (T0 - timedelta(seconds=1), None, "before the first bar"),
        (T0 + timedelta(minutes=20), None, "at or after the end of the last bar"),
        (T0 + timedelta(minutes=10), 601.0, "expected horizon_s <= 600"),
        (datetime(2025, 10, 10, 21, 0), None, "timezone-aware"),  # noqa: DTZ001 (the naive case)
    ],
)
def test_replay_start_or_horizon_outside_bars_raises(
    good: OhlcBars, start: datetime, horizon_s: float | None, match: str
) -> None:
    """A start outside the bars, a horizon past the last bar, or a naive start is a ValueError."""
    with pytest.raises(ValueError, match=match):
        replay_path(good, rng=np.random.default_rng(0), start_utc=start, horizon_s=horizon_s)


def test_replay_bridge_without_rng_raises(good: OhlcBars) -> None:
    """The bridge fill needs an explicit Generator; nothing falls back to global randomness."""
    with pytest.raises(ValueError, match="needs rng"):
        replay_path(good)
