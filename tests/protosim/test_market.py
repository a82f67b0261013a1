"""Tests of protosim.market: reference prices with shocks, venue prices moved by trades, impact
decay, band crossings and the attribution of moves.

Worked by hand from the module's stated model: ``p_ref(t) = path(t) · exp(Σ log(f)·frac(t))``
with ``frac`` rising linearly over a shock's duration, and ``p_venue = p_ref · exp(d)`` where a
trade adds ``log(price_after / price_before)`` to ``d`` and ``d`` halves every recovery half-life.
The pools are x·y = k (mechanics §12.1): 100 tokens and 100,000 USD at 1,000 USD, k = 1e7.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from protosim.clock import Clock, ProcessGenerator
from protosim.eventlog import EventLog
from protosim.events import ROOT, ShockApplied, TradeExecuted
from protosim.impact import ConstantProductPool, SquareRootBook
from protosim.market import Market, TradingVenueParams
from protosim.paths import PricePath, constant_path

K = 100.0 * 100_000.0


class Rig:
    """A market on its own clock and log."""

    def __init__(self, market: Market, clock: Clock, log: EventLog) -> None:
        self.market, self.clock, self.log = market, clock, log

    def advance_to(self, t: float) -> None:
        self.clock.env.run(until=t)

    def jump(self, asset: str, factor: float, duration_s: float) -> int:
        seq = self.log.emit(
            ShockApplied, shock="price_jump", target=asset, size=factor - 1, duration_s=duration_s
        )
        self.market.apply_jump(asset, factor, duration_s, seq=seq)
        return seq


def make_rig(
    paths: dict[str, PricePath] | None = None,
    half_life_s: float = math.inf,
    venues: tuple[str, ...] = ("pool",),
) -> Rig:
    clock = Clock()
    log = EventLog(now=lambda: clock.now, block=lambda: 0)
    paths = paths or {
        "ETH": constant_path(1_000.0, 3_600.0),
        "BTC": constant_path(50_000.0, 3_600.0),
    }
    trading = [
        TradingVenueParams(
            venue_id=v,
            asset="ETH",
            impact=ConstantProductPool(depth_usd=100_000.0, reference_price=1_000.0, fee_bps=0.0),
            recovery_half_life_s=half_life_s,
        )
        for v in venues
    ]
    return Rig(Market(clock, log, paths, trading), clock, log)


@pytest.fixture
def rig() -> Rig:
    return make_rig()


# -- reference price and shocks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (599.0, 2_000.0),  # before the ramp
        (600.0, 2_000.0),  # start: frac 0
        (675.0, 2_000.0 * 0.8**0.25),  # a quarter in: log-linear, so 0.8^(1/4)
        (750.0, 2_000.0 * math.sqrt(0.8)),  # middle: 1788.85...
        (900.0, 1_600.0),  # end: the full factor
        (3_000.0, 1_600.0),  # after: holds
    ],
)
def test_reference_price_ramped_jump_is_log_linear(t: float, expected: float) -> None:
    """A jump by factor f over D seconds multiplies the price by f^((t − t0)/D) inside the ramp."""
    rig = make_rig({"ETH": constant_path(2_000.0, 3_600.0)}, venues=())
    rig.advance_to(600.0)
    rig.jump("ETH", 0.8, 300.0)
    assert rig.market.reference_price("ETH", t) == pytest.approx(expected, rel=1e-12)
    assert rig.market.reference_prices("ETH", np.array([t]))[0] == pytest.approx(
        expected, rel=1e-12
    )


def test_reference_price_instant_jumps_compound() -> None:
    """Two instant jumps multiply: ×0.5 then ×1.1 leaves 0.55 of the path price."""
    rig = make_rig(venues=())
    rig.advance_to(100.0)
    rig.jump("ETH", 0.5, 0.0)
    rig.advance_to(200.0)
    rig.jump("ETH", 1.1, 0.0)
    assert rig.market.reference_price("ETH", 99.0) == pytest.approx(1_000.0)
    assert rig.market.reference_price("ETH", 150.0) == pytest.approx(500.0, rel=1e-12)
    assert rig.market.price("ETH") == pytest.approx(550.0, rel=1e-12)
    assert rig.market.reference_price("BTC") == 50_000.0  # other assets untouched


def test_min_reference_price_includes_end_of_ramp() -> None:
    """The lowest reference price over the run is the path's low times the full shock factor."""
    path = PricePath(dt_s=60.0, prices=np.array([2_000.0, 1_900.0, 2_100.0] * 20), source="test")
    rig = make_rig({"ETH": path}, venues=())
    rig.advance_to(90.0)
    rig.jump("ETH", 0.75, 500.0)
    assert rig.market.min_reference_price("ETH", 3_600.0) == pytest.approx(
        1_900.0 * 0.75, rel=1e-12
    )


@pytest.mark.parametrize(("factor", "duration_s"), [(0.0, 10.0), (-0.5, 10.0), (0.9, -1.0)])
def test_apply_jump_invalid_factor_or_duration_raises_value_error(
    rig: Rig, factor: float, duration_s: float
) -> None:
    """A price factor must be > 0 and a duration >= 0."""
    with pytest.raises(ValueError, match=r"factor > 0|duration_s >= 0"):
        rig.market.apply_jump("ETH", factor, duration_s, seq=ROOT)


def test_market_unknown_asset_or_venue_raises_key_error(rig: Rig) -> None:
    """Asking for an asset or venue the market does not have is a KeyError naming it."""
    with pytest.raises(KeyError, match="DOGE"):
        rig.market.price("DOGE")
    with pytest.raises(KeyError, match="nowhere"):
        rig.market.trade("nowhere", 1.0, trader="t")


def test_market_venue_trading_unknown_asset_raises_value_error() -> None:
    """A trading venue must trade an asset the market prices."""
    pool = ConstantProductPool(depth_usd=1e5, reference_price=1.0)
    with pytest.raises(ValueError, match="unknown asset"):
        Market(Clock(), EventLog(now=lambda: 0.0, block=lambda: 0),
               {"ETH": constant_path(1.0, 10.0)},
               [TradingVenueParams(venue_id="p", asset="SOL", impact=pool)])  # fmt: skip


# -- trades -------------------------------------------------------------------------------------


def test_trade_venue_price_after_equals_constant_product_by_hand(rig: Rig) -> None:
    """Selling 4 of 100 pool tokens leaves the venue at k/104² = 924.56, the reference at 1,000."""
    fill = rig.market.trade("pool", -4.0, trader="keeper")
    assert fill.price_after == pytest.approx(K / 104.0**2, rel=1e-12)
    assert rig.market.price("ETH", "pool") == pytest.approx(K / 104.0**2, rel=1e-12)
    assert rig.market.venue_prices("pool", np.array([0.0, 1_000.0])) == pytest.approx(
        [K / 104.0**2] * 2, rel=1e-12
    )
    assert rig.market.price("ETH") == 1_000.0
    assert rig.market.min_trade_price("pool") == pytest.approx(K / 104.0**2, rel=1e-12)


def test_trade_logs_trade_executed_with_fill(rig: Rig) -> None:
    """A trade logs TradeExecuted with venue, trader, quantity, USD and prices before and after."""
    root = rig.jump("BTC", 0.9, 0.0)
    rig.market.trade("pool", -4.0, trader="keeper", cause=root, cause_span=1)
    (event,) = rig.log.of_type(TradeExecuted)
    assert (event.venue, event.asset, event.trader, event.quantity, event.cause) == (
        "pool",
        "ETH",
        "keeper",
        -4.0,
        root,
    )
    assert event.notional_usd == pytest.approx(100_000.0 * 4 / 104, rel=1e-12)  # y·Δx/(x + Δx)
    assert event.price_before == 1_000.0
    assert event.price_after == pytest.approx(K / 104.0**2, rel=1e-12)


def test_trade_second_trade_starts_from_displaced_price(rig: Rig) -> None:
    """Buying back 4 after selling 4 returns a fee-less pool to price 1,000 for the same USD."""
    sold = rig.market.trade("pool", -4.0, trader="a")
    bought = rig.market.trade("pool", 4.0, trader="b")
    assert bought.notional_usd == pytest.approx(sold.notional_usd, rel=1e-12)
    assert rig.market.price("ETH", "pool") == pytest.approx(1_000.0, rel=1e-12)


def test_trade_displacement_rides_on_reference_moves(rig: Rig) -> None:
    """After a trade, a shock moves the venue with the reference: venue = ref · (k/104²)/1,000."""
    rig.market.trade("pool", -4.0, trader="a")
    rig.jump("ETH", 0.5, 0.0)
    assert rig.market.price("ETH", "pool") == pytest.approx(
        500.0 * (K / 104.0**2) / 1_000.0, rel=1e-12
    )


def test_trade_on_one_venue_leaves_other_venue_at_reference() -> None:
    """Impact is per venue: a sale on one pool does not move another pool of the same asset."""
    rig = make_rig(venues=("pool", "other"))
    rig.market.trade("pool", -4.0, trader="a")
    assert rig.market.price("ETH", "other") == 1_000.0
    # The median of two venues is their mean.
    assert rig.market.observe("ETH", ["pool", "other"]) == pytest.approx(
        (K / 104.0**2 + 1_000.0) / 2, rel=1e-12
    )


@pytest.mark.parametrize(
    ("elapsed_half_lives", "fraction_left"), [(0.0, 1.0), (1.0, 0.5), (2.0, 0.25), (3.5, 2**-3.5)]
)
def test_trade_displacement_decays_with_recovery_half_life(
    elapsed_half_lives: float, fraction_left: float
) -> None:
    """A venue's log offset halves every half-life: after one, venue/ref = √(after/before)."""
    half_life = 120.0
    rig = make_rig(half_life_s=half_life)
    rig.advance_to(10.0)
    rig.market.trade("pool", -4.0, trader="a")
    log_offset = math.log((K / 104.0**2) / 1_000.0)  # = 2·log(100/104)
    t = 10.0 + elapsed_half_lives * half_life
    expected = 1_000.0 * math.exp(log_offset * fraction_left)
    assert rig.market.venue_prices("pool", np.array([t]))[0] == pytest.approx(expected, rel=1e-12)
    if t > rig.clock.now:
        rig.advance_to(t)
    assert rig.market.price("ETH", "pool") == pytest.approx(expected, rel=1e-12)
    if elapsed_half_lives == 1.0:
        assert expected == pytest.approx(1_000.0 * 100.0 / 104.0, rel=1e-12)


def _book_market(half_life_s: float = math.inf) -> Rig:
    clock = Clock()
    log = EventLog(now=lambda: clock.now, block=lambda: 0)
    book = SquareRootBook(daily_volume_usd=1e9, daily_volatility=0.04, fee_bps=0.0)
    venue = TradingVenueParams(
        venue_id="book", asset="ETH", impact=book, recovery_half_life_s=half_life_s
    )
    return Rig(Market(clock, log, {"ETH": constant_path(1_000.0, 3_600.0)}, [venue]), clock, log)


def test_book_sales_in_a_row_move_the_price_as_one_sale_of_their_total() -> None:
    """The square-root law holds for the metaorder: ten $1M sales end where one $10M sale does,
    1000 · exp(−0.04 · √(1e7 / 1e9)) = 996.0080 (not √10 times further)."""
    rig = _book_market()
    for _ in range(10):
        rig.market.trade("book", -1e6 / rig.market.price("ETH", "book"), trader="k")
    expected = 1_000.0 * math.exp(-0.04 * math.sqrt(1e7 / 1e9))
    assert rig.market.price("ETH", "book") == pytest.approx(expected, rel=1e-9)


def test_book_buy_back_of_a_sale_returns_to_the_start() -> None:
    """Buying back the notional just sold walks the metaorder back to zero: the price returns
    to the reference (1,000) with no recovery in between."""
    rig = _book_market()
    sold = rig.market.trade("book", -5_000.0, trader="k")
    usd_level = 5_000.0 * 1_000.0  # the sale's notional at the pre-trade mid
    after = rig.market.price("ETH", "book")
    assert after < 1_000.0
    rig.market.trade("book", usd_level / after, trader="k")
    assert rig.market.price("ETH", "book") == pytest.approx(1_000.0, rel=1e-9)
    assert sold.price_after == after


def test_book_metaorder_is_forgotten_as_the_price_recovers() -> None:
    """After the displacement has decayed to a quarter (two half-lives), a new sale continues a
    metaorder of 1/16 of the first one's notional: ``Q = V (d/(Yσ))²``."""
    rig = _book_market(half_life_s=60.0)
    rig.market.trade("book", -10_000.0, trader="k")  # $10M at 1,000
    rig.advance_to(120.0)
    level = math.log(rig.market.price("ETH", "book") / 1_000.0)
    assert level == pytest.approx(-0.04 * math.sqrt(1e7 / 1e9) / 4, rel=1e-9)
    rig.market.trade("book", -1e7 / rig.market.price("ETH", "book"), trader="k")
    expected = -0.04 * math.sqrt((1e7 / 16 + 1e7) / 1e9)
    assert math.log(rig.market.price("ETH", "book") / 1_000.0) == pytest.approx(expected, rel=1e-9)


# -- band crossings -----------------------------------------------------------------------------

STEPS = PricePath(
    dt_s=10.0, prices=np.array([100.0, 101.0, 102.0, 99.0, 98.0, 110.0, 100.0]), source="steps"
)


@pytest.mark.parametrize(
    ("low", "high", "t_from", "t_to", "expected"),
    [
        (99.0, 102.0, 0.0, 60.0, 40.0),  # 102 at 20 and 99 at 30 touch the bounds: inside
        (99.0, 102.0, 45.0, 60.0, 45.0),  # already outside (98) at t_from
        (99.0, 102.0, 0.0, 39.9, None),  # stays inside up to t_to
        (98.0, 102.0, 5.0, 60.0, 50.0),  # 110 > 102 at 50
        (100.0, 101.0, 0.0, 60.0, 20.0),  # 102 > 101 at 20
        (99.0, 102.0, 0.0, 40.0, 40.0),  # t_to itself is observed
        (99.0, 102.0, 50.0, 40.0, None),  # empty interval
    ],
)
def test_next_crossing_first_time_outside_closed_band(
    low: float, high: float, t_from: float, t_to: float, expected: float | None
) -> None:
    """Return the first time outside [low, high] (bounds inside), t_from if already, else None."""
    rig = make_rig({"ETH": STEPS}, venues=())
    got = rig.market.next_crossing("ETH", [], low=low, high=high, t_from=t_from, t_to=t_to)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("path_dt_s", [1.0, 3_600.0])
def test_next_crossing_finds_ramp_crossing_between_coarse_samples(path_dt_s: float) -> None:
    """A 20% fall over 300 s from t = 600 leaves a ±0.5% band around 2,000 at the first second after
    600 + 300·ln(0.995)/ln(0.8) = 606.74, even when the path itself has one sample an hour."""
    path = PricePath(dt_s=path_dt_s, prices=np.full(int(7_200 / path_dt_s), 2_000.0), source="flat")
    rig = make_rig({"ETH": path}, venues=())
    rig.advance_to(600.0)
    rig.jump("ETH", 0.8, 300.0)
    t_cross = 600.0 + 300.0 * math.log(0.995) / math.log(0.8)
    got = rig.market.next_crossing("ETH", [], low=1_990.0, high=2_010.0, t_from=600.0, t_to=3_600.0)
    assert got == math.ceil(t_cross) == 607


def test_next_crossing_watches_venue_price_not_reference(rig: Rig) -> None:
    """After a sale to 924.56, a ±5% band around 1,000 is crossed on the pool, not the reference."""
    rig.advance_to(30.0)
    rig.market.trade("pool", -4.0, trader="a")
    band = {"low": 950.0, "high": 1_050.0, "t_from": 30.0, "t_to": 3_000.0}
    assert rig.market.next_crossing("ETH", ["pool"], **band) == 30.0
    assert rig.market.next_crossing("ETH", [], **band) is None


def _first_outside_by_brute_force(
    rig: Rig, low: float, high: float, t_from: float, t_to: float
) -> float | None:
    """The first of t_from and every whole second up to t_to whose pool price (the general
    `venue_prices`, one time at a time) is outside [low, high]."""
    times = [t_from, *[float(k) for k in range(math.floor(t_from) + 1, math.floor(t_to) + 1)]]
    for t in times:
        price = float(rig.market.venue_prices("pool", np.array([t]))[0])
        if not low <= price <= high:
            return t
    return None


@pytest.mark.parametrize("half_life_s", [math.inf, 120.0])
def test_next_crossing_on_the_path_grid_matches_pricing_every_second(half_life_s: float) -> None:
    """On a 1-second path watched on one pool, the crossing is the first second (or t_from)
    whose venue price, computed alone, leaves the band: through a settled and a ramping shock,
    a constant or decaying trade displacement, lookahead chunks and the path's end."""
    rng = np.random.default_rng(7)
    prices = 2_000.0 * np.exp(np.cumsum(rng.normal(0.0, 4e-4, 3_000)))
    path = PricePath(dt_s=1.0, prices=prices, source="walk")
    rig = make_rig({"ETH": path}, half_life_s=half_life_s)
    rig.advance_to(100.0)
    rig.jump("ETH", 0.97, 0.0)  # settled from now on
    rig.market.trade("pool", -1.5, trader="a")
    rig.advance_to(400.5)
    rig.jump("ETH", 0.9, 600.0)  # ramping until t = 1,000.5
    cases = 0
    for t_from in (100.0, 250.25, 400.5, 1_200.0, 2_990.5):
        now = float(rig.market.venue_prices("pool", np.array([t_from]))[0])
        for width in (1e-5, 0.004, 0.02, 0.08, 0.5):
            for t_to in (t_from + 3.0, t_from + 700.0, 3_500.0):
                band = {"low": now * (1 - width), "high": now * (1 + width)}
                want = _first_outside_by_brute_force(rig, t_from=t_from, t_to=t_to, **band)
                got = rig.market.next_crossing("ETH", ["pool"], t_from=t_from, t_to=t_to, **band)
                assert got == want, (t_from, width, t_to)
                cases += want is not None and want > t_from
    assert cases > 10  # crossings after t_from, not only at it


def test_reference_price_sees_a_shock_applied_at_the_same_instant(rig: Rig) -> None:
    """A price read and then moved by an instant shock at the same time reads moved: 1,000 × 0.5."""
    rig.advance_to(60.0)
    assert rig.market.reference_price("ETH") == 1_000.0
    rig.jump("ETH", 0.5, 0.0)
    assert rig.market.reference_price("ETH") == 500.0
    assert rig.market.reference_price("ETH", 30.0) == 1_000.0  # before the shock


# -- attribution of moves -----------------------------------------------------------------------


def test_last_mover_latest_trade_on_watched_venue() -> None:
    """last_mover names the latest trade on a watched venue; trades elsewhere do not count."""
    rig = make_rig(venues=("pool", "other"))
    rig.advance_to(10.0)
    rig.market.trade("pool", -1.0, trader="a")
    pool_seq = len(rig.log) - 1
    rig.advance_to(20.0)
    rig.market.trade("other", -1.0, trader="b")
    other_seq = len(rig.log) - 1
    assert rig.market.last_mover("ETH", ["pool"], since_s=0.0) == (pool_seq, 1)
    assert rig.market.last_mover("ETH", ["other"], since_s=0.0) == (other_seq, 1)
    assert rig.market.last_mover("ETH", ["pool", "other"], since_s=0.0) == (other_seq, 1)
    assert rig.market.last_mover("ETH", ["pool"], since_s=15.0) == (
        ROOT,
        0,
    )  # pool's trade was at 10


def test_last_mover_shock_moves_every_venue_while_ramping(rig: Rig) -> None:
    """A shock is the mover for any observer, also while its ramp is still moving the price."""
    rig.advance_to(100.0)
    shock = rig.jump("ETH", 0.8, 300.0)
    assert rig.market.last_mover("ETH", ["pool"], since_s=50.0) == (shock, 1)
    assert rig.market.last_mover("ETH", [], since_s=350.0) == (shock, 1)  # ramp runs to 400
    assert rig.market.last_mover("ETH", [], since_s=450.0) == (ROOT, 0)


def test_last_mover_only_path_moved_returns_root(rig: Rig) -> None:
    """With no trade or shock, the exogenous path is the only mover: (ROOT, 0)."""
    assert rig.market.last_mover("ETH", ["pool"], since_s=0.0) == (ROOT, 0)
    rig.jump("BTC", 0.5, 0.0)  # another asset's shock does not move ETH
    assert rig.market.last_mover("ETH", ["pool"], since_s=0.0) == (ROOT, 0)


# Regression: last_mover once counted venue trades as moving the reference price.
def test_last_mover_reference_observer_ignores_venue_trades(rig: Rig) -> None:
    """An observer of the reference price (no venues) is not moved by a trade on a venue."""
    rig.market.trade("pool", -4.0, trader="a")
    assert rig.market.price("ETH") == 1_000.0  # the reference did not move
    assert rig.market.last_mover("ETH", [], since_s=0.0) == (ROOT, 0)


def test_moved_fires_on_trade_with_its_seq(rig: Rig) -> None:
    """A process waiting on moved(asset) wakes at the next trade, with the trade's seq."""
    woke: list[tuple[float, int]] = []

    def waiter() -> ProcessGenerator:
        value = yield rig.market.moved("ETH")
        woke.append((rig.clock.now, value))

    rig.clock.start("waiter", waiter())

    def sell() -> None:
        rig.market.trade("pool", -1.0, trader="a")

    rig.clock.call_at(50.0, "trade", sell)
    rig.advance_to(100.0)
    (trade,) = rig.log.of_type(TradeExecuted)
    assert woke == [(50.0, trade.seq)]


def test_moved_fires_on_shock_and_rearms(rig: Rig) -> None:
    """moved() fires once per move; after it fired, a new event waits for the next move."""
    first = rig.market.moved("ETH")
    assert rig.market.moved("ETH") is first  # same pending event until something moves
    shock = rig.jump("ETH", 0.9, 0.0)
    assert first.triggered
    assert first.value == shock
    second = rig.market.moved("ETH")
    assert second is not first
    assert not second.triggered
    rig.market.trade("pool", -1.0, trader="a")
    assert second.triggered


@pytest.mark.parametrize("half_life_s", [math.inf, 120.0])
def test_prices_at_one_time_equal_the_array_path_bit_for_bit(half_life_s: float) -> None:
    """A price asked at one time (the sampler's call) is the element the array path computes
    for that time among others: before, during and after a ramping and a step shock, with a
    constant or decaying trade displacement."""
    rng = np.random.default_rng(11)
    prices = 2_000.0 * np.exp(np.cumsum(rng.normal(0.0, 4e-4, 3_000)))
    rig = make_rig({"ETH": PricePath(dt_s=1.0, prices=prices, source="walk")}, half_life_s)
    rig.advance_to(100.0)
    rig.jump("ETH", 0.97, 0.0)
    rig.market.trade("pool", -1.5, trader="a")
    rig.advance_to(400.5)
    rig.jump("ETH", 0.9, 600.0)
    times = np.concatenate([rng.uniform(0.0, 3_500.0, 400), [100.0, 400.5, 1_000.5, 2_999.0]])
    for t in times:
        pair = np.array([t, 1.0])  # two times: the array path
        one = rig.market.reference_prices("ETH", np.array([t]))[0]
        assert one == rig.market.reference_prices("ETH", pair)[0]
        one = rig.market.venue_prices("pool", np.array([t]))[0]
        assert one == rig.market.venue_prices("pool", pair)[0]


@pytest.mark.parametrize("dt_s", [1.0, 0.1, 60.0])
def test_min_reference_price_equals_the_minimum_over_every_sample(dt_s: float) -> None:
    """The lowest reference price is the minimum of the prices computed at every sample time
    and shock boundary (bit for bit): with no shock, steps, ramps that overlap, a ramp cut
    by the horizon, and shocks starting between samples."""
    rng = np.random.default_rng(5)
    prices = 2_000.0 * np.exp(np.cumsum(rng.normal(0.0, 2e-3, 5_000)))
    rig = make_rig({"ETH": PricePath(dt_s=dt_s, prices=prices, source="walk")})
    horizon = 4_000 * dt_s

    def every_sample() -> float:
        grid = np.arange(0.0, horizon, dt_s)
        state = rig.market._state("ETH")
        marks = [t for j in state.jumps for t in (j.start_s, j.start_s + j.duration_s)]
        grid = np.concatenate([grid, [t for t in marks if t < horizon]])
        return float(rig.market.reference_prices("ETH", grid).min())

    assert rig.market.min_reference_price("ETH", horizon) == every_sample()
    for at, factor, ramp in [
        (100.3, 0.9, 0.0),
        (500.0, 0.8, 700.0),
        (900.7, 1.2, 1_000.0),
        (2_500.0, 0.7, 0.0),
        (3_950.2, 0.6, 500.0),
    ]:
        rig.advance_to(at * dt_s)
        rig.jump("ETH", factor, ramp * dt_s)
        assert rig.market.min_reference_price("ETH", horizon) == every_sample(), at
