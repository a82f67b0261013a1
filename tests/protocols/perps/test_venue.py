"""Perp venue behaviour on hand-built accounts: documented liquidation prices, the Hyperliquid
ladder (slices, cooldown, vault), clearance fees, funding, halts, ordering and exposure.

Every scenario has one asset on a constant path, an index feed reading a deep "spot" venue, and
the venue's own liquidation book "book"; prices are moved by exact price jumps, so the mark at
each check is known in advance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.errors import ScenarioError
from protosim.events import ROOT, LiquidationExecuted, OracleUpdated, TradeExecuted
from protosim.protocols.perps.events import (
    BackstopTookOver,
    FundingSettled,
    InsuranceFundChanged,
    VenueHalted,
    VenueResumed,
)
from protosim.protocols.perps.kinds import register
from protosim.protocols.perps.math import hyperliquid_funding_rate
from protosim.protocols.perps.venue import PerpVenue, PerpVenueHaltedError
from protosim.registry import Registry


def _registry() -> Registry:
    registry = Registry().load_entry_points()
    register(registry)
    return registry


REGISTRY = _registry()


def _jump(at_s: float, before: float, after: float) -> dict[str, Any]:
    return {"kind": "price_jump", "at_s": at_s, "asset": "BTC", "change": after / before - 1.0}


def _scenario(
    kind: str,
    params: dict[str, Any],
    *,
    price: float,
    shocks: list[dict[str, Any]] = (),  # type: ignore[assignment]
    horizon_s: float = 60.0,
    book_depth_usd: float = 1e15,
) -> Scenario:
    market = {"asset": "BTC", "index_oracle": "btc-index", "book": "book"}
    market.update(params.pop("market", {}))
    venue_params = {"markets": {"BTC": market}, **params}
    return Scenario.from_dict(
        {
            "name": "perp-unit",
            "seed": 1,
            "horizon_s": horizon_s,
            "assets": [{"id": "BTC", "path": {"kind": "constant", "price": price}}],
            "markets": [
                {
                    "id": "spot",
                    "asset": "BTC",
                    "impact": {"kind": "constant_product", "depth_usd": 1e15, "fee_bps": 0.0},
                },
                {
                    "id": "book",
                    "asset": "BTC",
                    "impact": {
                        "kind": "constant_product",
                        "depth_usd": book_depth_usd,
                        "fee_bps": 0.0,
                    },
                },
            ],
            "oracles": [
                {
                    "id": "btc-index",
                    "kind": "oracle.internal_book",
                    "params": {"asset": "BTC", "venue": "spot"},
                }
            ],
            "venues": [{"id": "perp", "kind": kind, "params": venue_params}],
            "shocks": list(shocks),
        },
        registry=REGISTRY,
    )


def _sim(scenario: Scenario) -> Simulation:
    return Simulation(scenario, registry=REGISTRY)


def _venue(sim: Simulation) -> PerpVenue:
    venue = sim.context.venues["perp"]
    assert isinstance(venue, PerpVenue)
    return venue


FAQ_ACCOUNT = {
    "wallet_usd": 500.0,
    "positions": [{"market": "BTC", "size": 0.02, "entry_price": 50_000.0}],
}


def _faq_binance(shocks: list[dict[str, Any]], horizon_s: float = 60.0) -> Simulation:
    params = {
        "market": {"table": "binance.BTCUSDT"},
        "mark": "index",
        "accounts": [FAQ_ACCOUNT],
        "insurance_fund_usd": 1_000.0,
    }
    return _sim(
        _scenario("perps.binance", params, price=50_000.0, shocks=shocks, horizon_s=horizon_s)
    )


def test_binance_faq_account_liquidates_at_its_documented_price() -> None:
    """Binance FAQ 25edcd7f…: wallet 500, 0.02 BTC long at 50,000 cross → liquidation price
    25,100.40. A mark of 25,100.50 leaves it alone; 25,100.30 liquidates it at that check."""
    sim = _faq_binance([_jump(10.0, 50_000.0, 25_100.5), _jump(20.0, 25_100.5, 25_100.3)])
    venue = _venue(sim)
    assert venue.book.markets["BTC"].key[0] == pytest.approx(25_100.40, abs=0.005)
    result = sim.run()
    liq = result.log.frame(LiquidationExecuted)
    assert liq["t"].tolist() == [20.0]
    assert liq["account"].tolist() == [0]
    assert liq["health_before"].iloc[0] <= 1.0


def test_binance_clearance_fee_is_capped_by_the_equity_left() -> None:
    """Liquidated at 25,100.30 in a deep book the account has 500 + 0.02 × (25,100.3 − 50,000)
    = 2.006 left (below MM 0.4 % × 502.006 = 2.008); the 0.5 % fee on 502.006 (2.51) is capped
    there: the fund gains 2.006 and the account ends at zero."""
    sim = _faq_binance([_jump(10.0, 50_000.0, 25_100.3)], horizon_s=20.0)
    result = sim.run()
    venue = _venue(sim)
    (change,) = result.log.of_type(InsuranceFundChanged)
    assert change.amount_usd == pytest.approx(2.006, abs=1e-6)
    assert venue.fund.balance == pytest.approx(1_002.006, abs=1e-6)
    assert venue.account_equity()[0] == pytest.approx(0.0, abs=1e-6)


def _hl(accounts: list[dict[str, Any]], shocks: list[dict[str, Any]], **extra: Any) -> Simulation:
    params: dict[str, Any] = {
        "market": {"table": "hyperliquid.BTC"},
        "mark": "index",
        "accounts": accounts,
        **extra,
    }
    return _sim(_scenario("perps.hyperliquid", params, price=100_000.0, shocks=shocks))


def _iso_long(quantity: float, margin: float) -> dict[str, Any]:
    position = {
        "market": "BTC",
        "size": quantity,
        "entry_price": 100_000.0,
        "isolated_margin": margin,
    }
    return {"positions": [position]}


def test_hyperliquid_docs_example_liquidates_at_96202() -> None:
    """Hyperliquid liquidation price by hand: isolated 1 BTC long at 100,000 with 5,000 margin
    and MMR 1.25 % → 100,000 − 3,750 / (1 − 0.0125) = 96,202.53. 96,203 is safe, 96,202 is
    liquidated, in full (96,202 < $100k), by the book (equity 1,202 > 2/3 × MM 1,202.5)."""
    sim = _hl([_iso_long(1.0, 5_000.0)], [_jump(10, 1e5, 96_203.0), _jump(20, 96_203.0, 96_202.0)])
    result = sim.run()
    liq = result.log.frame(LiquidationExecuted)
    assert liq["t"].tolist() == [20.0]
    assert liq["liquidator"].astype(str).tolist() == ["book"]
    assert liq["debt_repaid"].tolist() == pytest.approx([1.0])
    assert liq["protocol_fee"].tolist() == [0.0]
    # No clearance fee: the trader keeps 5,000 − 3,798 = 1,202 (less the deep book's impact).
    assert _venue(sim).account_equity()[0] == pytest.approx(1_202.0, rel=1e-6)


def test_hyperliquid_slices_large_positions_then_closes_in_full_within_cooldown() -> None:
    """10 BTC long at 100,000 with 50,000 margin (liquidation at 96,202.53). At 96,000 the
    $960k position loses a 20 % slice (2 BTC) and is healthy again (equity 10,000 > MM 9,600,
    next liquidation price 95,949.4). At 95,900 ten seconds later, inside the 30 s cooldown,
    the remaining 8 BTC go at once."""
    shocks = [_jump(10, 1e5, 96_000.0), _jump(20, 96_000.0, 95_900.0)]
    sim = _hl([_iso_long(10.0, 50_000.0)], shocks)
    venue = _venue(sim)
    sim.run_until(15.0)
    assert venue.book.markets["BTC"].key[0] == pytest.approx(758_000.0 / (8 * 0.9875), rel=1e-6)
    result = sim.run()
    liq = result.log.frame(LiquidationExecuted)
    assert liq["t"].tolist() == [10.0, 20.0]
    assert liq["debt_repaid"].tolist() == pytest.approx([2.0, 8.0])
    assert venue.metrics()["partial_liquidations"] == 1.0


def test_hyperliquid_slices_again_after_the_cooldown() -> None:
    """The same position falling to 95,900 forty seconds after the first slice (cooldown
    over) loses another 20 % slice: 1.6 BTC."""
    shocks = [_jump(10, 1e5, 96_000.0), _jump(50, 96_000.0, 95_900.0)]
    result = _hl([_iso_long(10.0, 50_000.0)], shocks).run()
    liq = result.log.frame(LiquidationExecuted)
    assert liq["debt_repaid"].tolist()[:2] == pytest.approx([2.0, 1.6])


def test_hyperliquid_vault_takes_accounts_below_two_thirds_of_mm() -> None:
    """A 1 BTC long (margin 5,000) gapping to 95,500 has equity 500 < 2/3 × MM 1,193.75: the
    liquidator vault takes the position and the 500 at the mark, the trader is left with
    zero, and the vault (unwinding at once) sells the BTC into the book."""
    backstop = {"vault_usd": 1_000_000.0, "unwind_half_life_s": 0.0}
    sim = _hl([_iso_long(1.0, 5_000.0)], [_jump(10, 1e5, 95_500.0)], backstop=backstop)
    result = sim.run()
    venue = _venue(sim)
    (took,) = result.log.of_type(BackstopTookOver)
    assert (took.account, took.quantity, took.price) == (0, 1.0, 95_500.0)
    assert took.equity_usd == pytest.approx(500.0, rel=1e-9)
    assert venue.account_equity()[0] == pytest.approx(0.0, abs=1e-9)
    sales = result.log.frame(TradeExecuted)
    assert sales["trader"].astype(str).tolist() == ["perp.vault"]
    assert sales["quantity"].tolist() == pytest.approx([-1.0])
    # The vault kept the 500 and sold at (almost exactly) the mark in a deep book.
    assert venue.vault_equity() == pytest.approx(1_000_500.0, rel=1e-9)


def test_hyperliquid_funding_is_the_clamped_premium_paid_hourly() -> None:
    """With the book held 1 % above the index for the whole hour, Hyperliquid's hourly rate is
    (1 % − 0.05 %) / 8 = 0.11875 %: the 1 BTC long pays 100,000 × 0.0011875 = 118.75 to the
    1 BTC short, on the oracle price."""
    accounts = [
        {"wallet_usd": 10_000.0, "positions": [{"market": "BTC", "size": s, "entry_price": 1e5}]}
        for s in (1.0, -1.0)
    ]
    lift = {"kind": "market_trade", "at_s": 0.5, "venue": "book", "target_change": 0.01}
    params = {"market": {"table": "hyperliquid.BTC"}, "mark": "index", "accounts": accounts}
    scenario = _scenario(
        "perps.hyperliquid", params, price=100_000.0, shocks=[lift], horizon_s=3_600.5
    )
    sim = _sim(scenario)
    result = sim.run()
    (funding,) = result.log.of_type(FundingSettled)
    assert funding.t == 3_600.0
    assert funding.rate == pytest.approx(hyperliquid_funding_rate(0.01), rel=1e-6)
    assert funding.rate == pytest.approx(0.0011875, rel=1e-6)
    wallet = _venue(sim).book.wallet
    assert wallet.tolist() == pytest.approx([10_000.0 - 118.75, 10_000.0 + 118.75], rel=1e-6)


def test_halted_venue_neither_liquidates_nor_transfers_and_positions_carry_through() -> None:
    """Halted from t = 5 for 30 s, the FAQ account pushed below its liquidation price at t = 10
    is liquidated only at t = 35, when the venue resumes; a deposit during the halt is refused
    and the position is unchanged through it."""
    sim = _faq_binance([_jump(10.0, 50_000.0, 25_000.0)])
    venue = _venue(sim)
    sim.run_until(5.0)
    venue.on_event("halt", 0.0, 30.0, cause=ROOT)
    sim.run_until(20.0)
    with pytest.raises(PerpVenueHaltedError):
        venue.transfer_margin(0, 100.0)
    assert venue.book.markets["BTC"].size[0] == 0.02
    result = sim.run()
    liq = result.log.frame(LiquidationExecuted)
    assert liq["t"].tolist() == [35.0]
    assert [e.t for e in result.log.of_type(VenueHalted)] == [5.0]
    assert [e.t for e in result.log.of_type(VenueResumed)] == [35.0]


def test_halted_book_defers_liquidations_until_it_trades_again() -> None:
    """With the liquidation book halted from t = 8 to t = 28 (a market halt), the account made
    liquidatable at t = 10 waits and is liquidated at t = 28."""
    halt = {"kind": "market_halt", "at_s": 8.0, "venue": "book", "duration_s": 20.0}
    sim = _faq_binance([halt, _jump(10.0, 50_000.0, 25_000.0)])
    liq = sim.run().log.frame(LiquidationExecuted)
    assert liq["t"].tolist() == [28.0]


def test_margin_deposit_moves_the_liquidation_price() -> None:
    """Depositing 500 more doubles the FAQ wallet to 1,000: the liquidation price becomes
    (1,000 − 1,000) / (0.02 × 0.004 − 0.02) = 0 (the long can no longer be liquidated)."""
    sim = _faq_binance([])
    venue = _venue(sim)
    venue.transfer_margin(0, 500.0)
    assert venue.book.markets["BTC"].key[0] == 0.0
    with pytest.raises(ValueError, match="initial margin"):
        venue.transfer_margin(0, -995.0)


def test_check_sees_the_index_published_at_the_same_instant_whatever_the_start_order() -> None:
    """Starting the venue's process before the index feed's, the check at t = 10 still sees the
    index of t = 10: the FAQ account is liquidated at t = 10, not t = 11."""
    from protosim.shocks import schedule_shock

    sim = _faq_binance([_jump(10.0, 50_000.0, 25_000.0)])
    scenario = sim.scenario
    ctx = sim.context
    ctx.venues["perp"].start()
    ctx.oracles["btc-index"].start()
    schedule_shock(ctx, scenario.shocks[0], 10.0, "jump")
    ctx.clock.env.run(until=12.0)
    assert ctx.log.column(LiquidationExecuted, "t").tolist() == [10.0]


def test_exposure_frame_health_matches_health_under_current_prices() -> None:
    """`positions_frame` has the exposure columns; `health_under` at the current index
    reproduces its health column, and a 20 % lower BTC lowers the long's health to
    (500 − 0.02 × 30,000) / (0.004 × 800) < 0."""
    sim = _faq_binance([])
    venue = _venue(sim)
    frame = venue.positions_frame()
    for column in ("venue", "account", "collateral_usd", "debt_usd", "health_factor"):
        assert column in frame.columns
    np.testing.assert_allclose(venue.health_under({}), frame["health_factor"].to_numpy())
    assert frame["health_factor"].iloc[0] == pytest.approx(500.0 / (0.004 * 1_000.0))
    lower = venue.health_under({"BTC": 20_000.0})
    assert lower[0] == pytest.approx((500.0 - 0.02 * 30_000.0) / (0.004 * 400.0))
    assert venue.priced_by() == {"BTC": ("btc-index",)}
    assert venue.chain_id is None


@pytest.mark.parametrize(
    ("population", "key"),
    [
        ({"markets": ["ETH"]}, "venues[0].params.populations[0].markets"),
        (
            {"markets": ["BTC"], "collateral": {"WBETH": 0.5}},
            "venues[0].params.populations[0].collateral.WBETH",
        ),
    ],
)
def test_invalid_population_names_its_key_path(population: dict[str, Any], key: str) -> None:
    """An unknown market or collateral in a population fails on load at its key path."""
    pop = {
        "accounts": 10,
        "position_usd": {"kind": "uniform", "low": 1.0, "high": 2.0},
        "leverage": {"kind": "uniform", "low": 1.0, "high": 2.0},
        **population,
    }
    with pytest.raises(ScenarioError) as err:
        _scenario(
            "perps.cex", {"market": {"table": "binance.BTCUSDT"}, "populations": [pop]}, price=1.0
        )
    assert err.value.key_path == key


def test_market_with_table_and_tiers_is_rejected() -> None:
    """A market names a preset table or its own tiers, not both."""
    market = {"table": "binance.BTCUSDT", "tiers": [{"floor": 0.0, "max_leverage": 10.0}]}
    with pytest.raises(ScenarioError) as err:
        _scenario("perps.cex", {"market": market}, price=1.0)
    assert err.value.key_path == "venues[0].params.markets.BTC.table"


def test_hyperliquid_mark_follows_the_documented_emas() -> None:
    """§5.3 by hand: oracle 100, book mid 101 then 100 at 1 s steps. After one step both EMAs
    equal their single sample (mark 101). After the second, (i) = 100 + e^(−1/150) /
    (e^(−1/150) + 1), (ii) = 100, (iii) = (101 e^(−1/30) + 100) / (e^(−1/30) + 1): the median
    is (iii) ≈ 100.4917."""
    from protosim.protocols.perps.venue import _MarkState

    state = _MarkState()
    assert PerpVenue._hyperliquid_mark(state, 100.0, 101.0, 1.0) == pytest.approx(101.0)
    second = PerpVenue._hyperliquid_mark(state, 100.0, 100.0, 1.0)
    a, b = np.exp(-1.0 / 150.0), np.exp(-1.0 / 30.0)
    first = 100.0 + a / (a + 1.0)
    third = (101.0 * b + 100.0) / (b + 1.0)
    assert second == pytest.approx(sorted((first, 100.0, third))[1], rel=1e-12)
    assert second == pytest.approx(third, rel=1e-12)


def test_hyperliquid_mark_takes_the_cex_perp_mids_as_its_third_input() -> None:
    """§5.3 with three inputs, by hand: 300 s at oracle = mid = 100, then 60 s with the own book
    at 70 while the other exchanges' perps stay at (100, 100, 99). (i) = 100 − 30 Σ_{k<60} a^k /
    Σ_{k<360} a^k with a = e^(−1/150) ≈ 89.12, (ii) = 70, (iii) = median(100, 100, 99) = 100:
    the mark is (i). The two-input rule would give the 30 s EMA of the mid (≈ 74)."""
    from protosim.protocols.perps.venue import _MarkState

    cex = [100.0, 100.0, 99.0]
    state, two = _MarkState(), _MarkState()
    for _ in range(300):
        PerpVenue._hyperliquid_mark(state, 100.0, 100.0, 1.0, cex)
        PerpVenue._hyperliquid_mark(two, 100.0, 100.0, 1.0)
    for _ in range(60):
        mark = PerpVenue._hyperliquid_mark(state, 100.0, 70.0, 1.0, cex)
        without = PerpVenue._hyperliquid_mark(two, 100.0, 70.0, 1.0)
    a = np.exp(-1.0 / 150.0)
    first = 100.0 - 30.0 * (1.0 - a**60) / (1.0 - a**360)
    assert mark == pytest.approx(first, rel=1e-9)
    assert 89.0 < mark < 89.3
    b = np.exp(-1.0 / 30.0)
    ema_mid = (100.0 * (b**60 - b**360) + 70.0 * (1.0 - b**60)) / (1.0 - b**360)
    assert without == pytest.approx(ema_mid, rel=1e-9)
    assert without < 75.0


def test_cex_perp_books_must_be_trading_venues_of_the_market_asset() -> None:
    """A mark input naming no trading venue of the market's asset is a build error naming it."""
    params = {"market": {"table": "hyperliquid.BTC", "cex_perp_books": ["spot", "nowhere"]}}
    with pytest.raises(ScenarioError, match=r"cex_perp_books\[1\]: 'nowhere'"):
        _sim(_scenario("perps.hyperliquid", params, price=100_000.0))


def test_unified_liquidation_is_caused_by_the_collateral_that_depegged() -> None:
    """A unified account (1 ETH long at 4,000: MM 20; $15 of token A and $15 of B, uniMMR 1.5)
    is liquidated when A's own book is sold 80 % down (equity 18, uniMMR 0.9 < 1.05) and
    names A's index reading as its cause, not the reading of B's index, which publishes later
    in the same instant (B's book lifted 1 %: a gain to the account)."""
    deep = {"kind": "constant_product", "depth_usd": 1e12, "fee_bps": 0.0}
    thin = {"kind": "constant_product", "depth_usd": 1e6, "fee_bps": 0.0}
    account = {
        "wallet_usd": 0.0,
        "collateral": {"A": 15.0, "B": 15.0},
        "positions": [{"market": "ETH", "size": 1.0, "entry_price": 4_000.0}],
    }
    book = {"kind": "oracle.internal_book"}
    scenario = Scenario.from_dict(
        {
            "name": "perp-unified-cause",
            "seed": 1,
            "horizon_s": 30.0,
            "assets": [
                {"id": "ETH", "path": {"kind": "constant", "price": 4_000.0}},
                {"id": "A", "path": {"kind": "constant", "price": 1.0}},
                {"id": "B", "path": {"kind": "constant", "price": 1.0}},
            ],
            "markets": [
                {"id": "eth-book", "asset": "ETH", "impact": deep},
                {"id": "a-book", "asset": "A", "impact": thin},
                {"id": "b-book", "asset": "B", "impact": deep},
            ],
            "oracles": [
                {"id": "a-index", **book, "params": {"asset": "A", "venue": "a-book"}},
                {"id": "b-index", **book, "params": {"asset": "B", "venue": "b-book"}},
                {"id": "eth-index", **book, "params": {"asset": "ETH", "venue": "eth-book"}},
            ],
            "venues": [
                {
                    "id": "perp",
                    "kind": "perps.binance",
                    "params": {
                        "markets": {
                            "ETH": {
                                "asset": "ETH",
                                "index_oracle": "eth-index",
                                "book": "eth-book",
                                "tiers": [{"floor": 0.0, "max_leverage": 100.0, "mmr": 0.005}],
                            }
                        },
                        "collateral": {
                            "A": {"oracle": "a-index", "collateral_rate": 1.0, "book": "a-book"},
                            "B": {"oracle": "b-index", "collateral_rate": 1.0, "book": "b-book"},
                        },
                        "accounts": [account],
                    },
                }
            ],
            "shocks": [
                {"kind": "market_trade", "at_s": 10.0, "venue": "a-book", "target_change": -0.8},
                {"kind": "market_trade", "at_s": 10.0, "venue": "b-book", "target_change": 0.01},
            ],
        },
        registry=REGISTRY,
    )
    result = _sim(scenario).run()
    liq = result.log.frame(LiquidationExecuted)
    assert len(liq) > 0
    updates = result.log.frame(OracleUpdated).set_index("seq")
    causes = {str(updates.loc[c, "oracle"]) for c in liq["cause"].tolist()}
    assert causes == {"a-index"}
