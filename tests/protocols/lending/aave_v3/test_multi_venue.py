"""Multi-reserve Aave v3 accounts in a run: e-mode, isolation, caps, interest, liquidations.

The scenario is ``data/multi_crash.toml``: 300 USD borrowers (60 % ETH, 30 % WBTC, 10 % wstETH
against 70 % USDC, 30 % USDT; HF in [1.05, 1.35]) and 200 ETH-correlated e-mode borrowers
(wstETH against ETH; HF in [1.01, 1.10]); ETH, wstETH and WBTC fall 30 % over five minutes.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from protosim import Scenario, Simulation
from protosim.cli import main
from protosim.clock import ProcessGenerator
from protosim.errors import ScenarioError
from protosim.events import LiquidationExecuted
from protosim.protocols.lending.aave_v3 import AaveReverted
from protosim.protocols.lending.aave_v3.events import AccountOpened, Borrowed, Supplied
from protosim.protocols.lending.aave_v3.multibook import MultiBook

DATA = Path(__file__).parent / "data" / "multi_crash.toml"
USD_ACCOUNTS = 300
EMODE_ACCOUNTS = 200


def _data() -> dict[str, Any]:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def _empty_market(**reserve_overrides: dict[str, Any]) -> dict[str, Any]:
    """The crash scenario without populations or shocks, reserves patched."""
    data = _data()
    params = data["venues"][0]["params"]
    params["multi_populations"] = []
    for asset, extra in reserve_overrides.items():
        params["reserves"].setdefault(asset, {}).update(extra)
    for asset in ("USDC", "USDT"):
        params["reserves"][asset]["passive_supply"] = 1e9
    data["shocks"] = []
    return data


@pytest.fixture(scope="module")
def crash() -> tuple[Simulation, Any, dict[str, np.ndarray]]:
    sim = Simulation(Scenario.from_dict(_data()))
    book = sim.context.venues["aave"].multi.book
    before = {
        "supplied": book.supplied[: len(book)].copy(),
        "borrowed": book.borrowed[: len(book)].copy(),
    }
    return sim, sim.run(), before


def test_usd_borrowers_are_all_liquidated_and_emode_accounts_survive(crash: Any) -> None:
    """A 30 % fall of every crypto asset takes USD borrowers from HF ≤ 1.35 to ≤ 0.945, so all
    300 are liquidated; e-mode accounts (wstETH against ETH) see both sides fall by 30 %, so
    their HF ≥ 1.01 does not move and none is."""
    _, result, _ = crash
    liq = result.liquidations
    accounts = set(liq["account"].tolist())
    assert accounts == set(range(USD_ACCOUNTS))
    assert not accounts & set(range(USD_ACCOUNTS, USD_ACCOUNTS + EMODE_ACCOUNTS))


def test_keeper_seizes_the_largest_collateral_first(crash: Any) -> None:
    """The default keeper seizes the largest collateral (ETH, 60 %) and repays the largest debt
    (USDC, 70 %) unless that call would revert under v3.3's dust rule; then it repays USDT."""
    _, result, before = crash
    liq = result.liquidations.sort_values("seq")
    first = liq.groupby("account").first()
    assert (first["collateral_asset"] == "ETH").all()
    fallback = first[first["debt_asset"] == "USDT"]
    assert (first["debt_asset"] == "USDC").sum() > 0
    assert len(fallback) > 0
    # Hand derivation (mechanics §1.3, v3.3): USDC is 7/3 of USDT in every account, so USDC
    # is more than half the total debt; with HF > 0.95 and both sides >= $2,000 the close factor
    # caps its repayment at half the total, leaving USDC - total / 2 = 0.2 × total. The call
    # reverts when that is under $1,000. USDT (< half) is repaid whole, which gives the total.
    # (HF was above 0.95 when the keeper chose, a block before the call recorded here.)
    accounts = fallback.index.to_numpy()
    usdt = fallback["debt_repaid_usd"].to_numpy()
    ratio = before["borrowed"][accounts, 0] / before["borrowed"][accounts, 1]
    total = usdt * (1.0 + ratio)
    assert (usdt * ratio - total / 2 < 1_000.0).all()


def test_collateral_tokens_are_conserved_per_account_and_reserve(crash: Any) -> None:
    """Collateral before = collateral after + seized, per account and reserve (no collateral
    reserve accrues interest here, so the liquidity index stays 1)."""
    sim, result, before = crash
    book: MultiBook = sim.context.venues["aave"].multi.book
    liq = result.liquidations
    n = len(book)
    for j, asset in enumerate(book.collateral_assets):
        sel = liq[liq["collateral_asset"] == asset]
        seized = np.bincount(sel["account"], weights=sel["collateral_seized"], minlength=n)
        np.testing.assert_allclose(
            book.supplied[:n, j] + seized, before["supplied"][:, j], rtol=1e-12, atol=1e-12
        )
    assert (book.supplied[:n] >= 0).all()
    assert (book.borrowed[:n] >= 0).all()


def test_debt_is_conserved_up_to_accrued_interest(crash: Any) -> None:
    """Debt before ≤ debt after + repaid + deficit ≤ debt before × the most interest an hour
    can add (65 %/yr cap of the strategy: e^(0.65/8760) − 1 < 7.5e-5)."""
    sim, result, before = crash
    venue = sim.context.venues["aave"]
    book: MultiBook = venue.multi.book
    liq = result.liquidations
    bad = result.bad_debt
    n = len(book)
    now = sim.context.clock.now
    for j, asset in enumerate(book.debt_assets):
        index = venue.multi.reserves[asset].indexes(now)[1]
        sel = liq[liq["debt_asset"] == asset]
        repaid = np.bincount(sel["account"], weights=sel["debt_repaid"], minlength=n)
        gone = bad[bad["asset"] == asset]
        burned = np.bincount(gone["account"], weights=gone["amount"], minlength=n)
        total = book.borrowed[:n, j] * index + repaid + burned
        assert (total >= before["borrowed"][:, j] * (1 - 1e-12)).all()
        assert (total <= before["borrowed"][:, j] * (1 + 7.5e-5) + 1e-9).all()


def test_cli_runs_a_multi_collateral_scenario() -> None:
    """`protosim run <multi-collateral toml> --json` exits 0 and reports its liquidations."""
    out = CliRunner().invoke(main, ["run", str(DATA), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)["summary"]
    assert summary["accounts_liquidated"] == USD_ACCOUNTS


# -- action API ---------------------------------------------------------------------------------


def _venue(data: dict[str, Any]) -> Any:
    return Simulation(Scenario.from_dict(data)).context.venues["aave"]


def test_borrow_is_limited_by_ltv_not_liquidation_threshold() -> None:
    """validateBorrow: 1 ETH at $2,000 with LTV 80.5 % backs at most 1,610 USDC (LT 83 %
    would allow 1,660)."""
    venue = _venue(_empty_market())
    account = venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 1_610.0})
    with pytest.raises(AaveReverted) as err:
        venue.borrow(account, "USDC", 1.0, cause=-1)
    assert err.value.error == "COLLATERAL_CANNOT_COVER_NEW_BORROW"
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 1_611.0})
    assert err.value.error == "COLLATERAL_CANNOT_COVER_NEW_BORROW"


def test_supply_cap_counts_whole_tokens() -> None:
    """validateSupply: with a 10-ETH cap, 10 ETH fit and the next 0.001 ETH reverts."""
    venue = _venue(_empty_market(ETH={"supply_cap": 10}))
    account = venue.open_account(collateral={"ETH": 10.0}, debt={})
    with pytest.raises(AaveReverted) as err:
        venue.supply(account, "ETH", 0.001, cause=-1)
    assert err.value.error == "SUPPLY_CAP_EXCEEDED"


def test_borrow_cap_counts_the_reserve_total() -> None:
    """validateBorrow: with a 1,000-USDC cap, two accounts borrowing 600 each: the second
    reverts with BORROW_CAP_EXCEEDED (1,200 > 1,000)."""
    venue = _venue(_empty_market(USDC={"borrow_cap": 1_000}))
    venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 600.0})
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 600.0})
    assert err.value.error == "BORROW_CAP_EXCEEDED"


def _isolated_market() -> dict[str, Any]:
    return _empty_market(
        WBTC={"debt_ceiling_usd": 1_000.0},
        USDC={"borrowable_in_isolation": True},
    )


def test_isolated_collateral_has_a_debt_ceiling_in_cents() -> None:
    """Isolation (IsolationModeLogic): WBTC with a $1,000.00 ceiling: 999.99 USDC borrowed,
    then 0.01 fits exactly and 0.01 more exceeds the ceiling."""
    venue = _venue(_isolated_market())
    a = venue.open_account(collateral={"WBTC": 1.0}, debt={"USDC": 999.99})
    venue.borrow(a, "USDC", 0.01, cause=-1)
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"WBTC": 1.0}, debt={"USDC": 0.01})
    assert err.value.error == "DEBT_CEILING_EXCEEDED"


def test_isolated_accounts_borrow_only_isolation_borrowable_assets() -> None:
    """validateBorrow: an isolated account cannot borrow USDT (not borrowable in isolation)."""
    venue = _venue(_isolated_market())
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"WBTC": 1.0}, debt={"USDT": 10.0})
    assert err.value.error == "ASSET_NOT_BORROWABLE_IN_ISOLATION"


def test_collateral_supplied_in_isolation_is_not_enabled() -> None:
    """validateUseAsCollateral: ETH supplied by an isolated account does not count as
    collateral, so it does not raise the borrowing power (0.5 WBTC · 73 % = $21,900 < $30,000)."""
    venue = _venue(
        _empty_market(
            WBTC={"debt_ceiling_usd": 1_000_000.0}, USDC={"borrowable_in_isolation": True}
        )
    )
    a = venue.open_account(collateral={"WBTC": 0.5, "ETH": 100.0}, debt={})
    with pytest.raises(AaveReverted) as err:
        venue.borrow(a, "USDC", 30_000.0, cause=-1)
    assert err.value.error == "COLLATERAL_CANNOT_COVER_NEW_BORROW"
    log = venue._ctx.log
    supplied = log.frame(Supplied)
    assert supplied.set_index("asset")["as_collateral"].to_dict() == {"WBTC": True, "ETH": False}


def test_emode_raises_borrowing_power_and_limits_what_is_borrowed() -> None:
    """E-mode 1 (LTV 93 %): 1 wstETH at $2,400 backs 2,232 USD of ETH = 1.116 ETH (outside
    e-mode LTV 78.5 % allows 0.942 ETH); USDC is not borrowable in the category; category 7
    does not exist."""
    venue = _venue(_empty_market())
    venue.open_account(collateral={"wstETH": 1.0}, debt={"ETH": 1.115}, emode=1)
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"wstETH": 1.0}, debt={"ETH": 1.117}, emode=1)
    assert err.value.error == "COLLATERAL_CANNOT_COVER_NEW_BORROW"
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"wstETH": 1.0}, debt={"ETH": 0.95})
    assert err.value.error == "COLLATERAL_CANNOT_COVER_NEW_BORROW"
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"wstETH": 1.0}, debt={"USDC": 10.0}, emode=1)
    assert err.value.error == "NOT_BORROWABLE_IN_EMODE"
    with pytest.raises(AaveReverted) as err:
        venue.open_account(collateral={"wstETH": 1.0}, debt={}, emode=7)
    assert err.value.error == "INCONSISTENT_EMODE_CATEGORY"


def test_a_reverted_open_changes_nothing() -> None:
    """A reverting open_account leaves no account, balance or event behind."""
    venue = _venue(_empty_market())
    with pytest.raises(AaveReverted):
        venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 1_000.0, "USDT": 1_000.0})
    assert len(venue.multi.book) == 0
    assert venue.multi.reserves["USDC"].scaled_debt == 0.0
    assert len(venue._ctx.log.frame(Borrowed)) == 0


def test_actions_are_logged_with_their_cause() -> None:
    """open_account logs AccountOpened with the caller's cause, then Supplied and Borrowed
    caused by it."""
    venue = _venue(_empty_market())
    account = venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 100.0}, cause=-1)
    log = venue._ctx.log
    opened = log.frame(AccountOpened)
    assert opened["account"].tolist() == [account]
    seq = int(opened["seq"].iloc[0])
    assert log.frame(Supplied)["cause"].tolist() == [seq]
    borrowed = log.frame(Borrowed)
    assert borrowed["cause"].tolist() == [seq]
    assert borrowed["amount_usd"].tolist() == [100.0]


# -- runs -----------------------------------------------------------------------------------


def test_account_opened_during_the_run_is_liquidated() -> None:
    """An account opened at t = 100 s (1 ETH against 1,600 USDC, HF 1660/1600 = 1.0375) falls
    to HF 0.73 in the 30 % crash and is liquidated."""
    data = _data()
    data["venues"][0]["params"]["multi_populations"] = []
    data["venues"][0]["params"]["reserves"]["USDC"]["passive_supply"] = 1e6
    sim = Simulation(Scenario.from_dict(data))
    venue = sim.context.venues["aave"]
    opened: list[int] = []

    def later() -> ProcessGenerator:
        yield sim.context.clock.timeout(100.0)
        opened.append(venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 1_600.0}))

    sim.context.clock.start("test.open", later())
    result = sim.run()
    assert opened
    assert opened[0] in set(result.liquidations["account"].tolist())


def test_interest_alone_makes_an_account_liquidatable() -> None:
    """Constant prices, a flat 1000 %/yr borrow rate (the strategy's cap): 1 ETH borrowing
    the 1,610 USDC its LTV allows has HF 1660 / 1610 = 1.031056; the debt index is
    1 + x + x(x/2 + x²/6) with x = 10 t / year (MathUtils), so HF crosses 1 when that equals
    1.031056, solved below by bisection (t ≈ 96,450 s). The venue must liquidate after that
    and within its interest tolerance (1e-5 at 1000 %/yr: 31.5 s) plus a block and latency."""
    data = _empty_market(
        USDC={"rate": {"base_rate_bps": 100_000, "slope1_bps": 0, "slope2_bps": 0}}
    )
    data["horizon_s"] = 30 * 3600.0
    data["venues"][0]["params"]["interest_tolerance"] = 1e-5
    sim = Simulation(Scenario.from_dict(data))
    venue = sim.context.venues["aave"]
    account = venue.open_account(collateral={"ETH": 1.0}, debt={"USDC": 1_610.0})
    target = 1_660.0 / 1_610.0
    lo, hi = 0.0, 365 * 86_400.0
    for _ in range(200):
        mid = (lo + hi) / 2
        x = 10.0 * mid / (365 * 86_400.0)
        lo, hi = (mid, hi) if 1 + x + x * (x / 2 + x * x / 6) < target else (lo, mid)
    result = sim.run()
    liq = result.liquidations
    t = liq.loc[liq["account"] == account, "t"]
    assert len(t) >= 1
    assert lo < t.min() < lo + 31.6 + 12.0 + 12.0


def test_multi_population_over_the_debt_ceiling_is_a_scenario_error() -> None:
    """A population borrowing more than its isolated collateral's ceiling fails to build, naming
    the population."""
    data = _data()
    params = data["venues"][0]["params"]
    params["reserves"]["WBTC"]["debt_ceiling_usd"] = 1_000.0
    params["reserves"]["USDC"]["borrowable_in_isolation"] = True
    params["multi_populations"] = [
        dict(
            copy.deepcopy(params["multi_populations"][0]),
            collateral={"WBTC": 1.0},
            debt={"USDC": 1.0},
        )
    ]
    with pytest.raises(ScenarioError, match="multi_populations"):
        Simulation(Scenario.from_dict(data))


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"collateral": {"ETH": 0.5, "WBTC": 0.4}}, "shares summing to 1"),
        ({"debt": {"DAI": 1.0}}, "multi_populations[0].debt"),
        ({"emode": 9}, "INCONSISTENT_EMODE_CATEGORY"),
        ({"emode": 1}, "NOT_BORROWABLE_IN_EMODE"),
    ],
)
def test_bad_multi_populations_are_rejected(patch: dict[str, Any], field: str) -> None:
    """Invalid shares, unknown reserves and inconsistent e-modes fail validation, naming why."""
    data = _data()
    pops = data["venues"][0]["params"]["multi_populations"]
    pops[0] = dict(pops[0], **patch)
    with pytest.raises(
        (ScenarioError, ValueError), match=field.replace("[", r"\[").replace("]", r"\]")
    ):
        Scenario.from_dict(data)


def test_health_under_covers_multi_accounts(crash: Any) -> None:
    """health_under: halving every price but the stables halves a USD borrower's collateral
    value, so its HF halves (first order, no liquidation)."""
    sim, _, _ = crash
    venue = sim.context.venues["aave"]
    now = venue.multi.health_factors()
    prices = {a: venue.valuation_price(a) / 2 for a in ("ETH", "WBTC", "wstETH")}
    after = venue.health_under(prices)
    usd = np.flatnonzero(np.isfinite(now[:USD_ACCOUNTS]) & (now[:USD_ACCOUNTS] > 0))
    np.testing.assert_allclose(after[usd], now[usd] / 2, rtol=2e-4)
    frame = venue.positions_frame()
    assert len(frame) == USD_ACCOUNTS + EMODE_ACCOUNTS
    assert not math.isnan(frame["health_factor"].iloc[-1])
    assert LiquidationExecuted is not None


def test_multi_bench_reports_its_figures_and_the_single_pair_ratio() -> None:
    """run_multi_bench (small): 3 collateral and 2 debt reserves, a liquidation count, bytes
    per account, and the single-pair benchmark's wall time from the same process."""
    from protosim.protocols.lending.aave_v3.bench import run_multi_bench

    r = run_multi_bench(accounts=2_000, hours=1.0)
    assert (r["collateral_reserves"], r["debt_reserves"]) == (3, 2)
    assert r["book_bytes_per_account"] > 0
    assert r["single_wall_s"] > 0
    assert r["ratio_to_single"] == pytest.approx(r["wall_s"] / r["single_wall_s"])
