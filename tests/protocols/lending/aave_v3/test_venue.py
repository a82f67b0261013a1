"""The Aave v3 venue in a run: every token accounted for, rules as configured."""

from __future__ import annotations

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import BadDebtRealized, LiquidationExecuted, PositionsBecameLiquidatable
from protosim.testing import tiny_scenario_dict


def _run(rules: str = "v3.3", accounts: int = 1_000, depth_usd: float = 30e6) -> Simulation:
    data = tiny_scenario_dict(accounts=accounts, depth_usd=depth_usd, rules=rules)
    return Simulation(Scenario.from_dict(data), seed=11)


@pytest.mark.parametrize("rules", ["v3.3", "v3.0", "v2"])
def test_liquidations_conserve_collateral_and_debt(rules: str) -> None:
    """Per account: collateral before = after + seized; debt before = after + repaid + deficit."""
    sim = _run(rules)
    book = sim.context.venues["aave"].books[0]
    coll0, debt0 = book.collateral.copy(), book.debt.copy()
    result = sim.run()
    liq = result.liquidations
    assert len(liq) > 0
    n = len(book)
    seized = np.bincount(liq["account"], weights=liq["collateral_seized"], minlength=n)
    repaid = np.bincount(liq["account"], weights=liq["debt_repaid"], minlength=n)
    bad = result.bad_debt
    deficit = bad[bad["treatment"] == "deficit"]
    burned = np.bincount(deficit["account"], weights=deficit["amount"], minlength=n)
    np.testing.assert_allclose(book.collateral + seized, coll0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(book.debt + repaid + burned, debt0, rtol=1e-12, atol=1e-9)
    assert (book.collateral >= 0).all()
    assert (book.debt >= 0).all()


def test_every_liquidation_had_health_below_one() -> None:
    """A liquidation executes only on a position whose health factor was below 1."""
    result = _run().run()
    assert (result.liquidations["health_before"] < 1.0).all()


def test_protocol_fee_is_ten_percent_of_the_bonus() -> None:
    """Fee = 10% of the bonus part of the seized collateral: seized · (1 − 1/1.05) · 0.1."""
    liq = _run().run().liquidations
    expected = liq["collateral_seized"] * (1 - 1 / 1.05) * 0.10
    np.testing.assert_allclose(liq["protocol_fee"], expected, rtol=1e-9)


def test_v33_burns_bad_debt_into_deficit_and_v30_leaves_it() -> None:
    """Under v3.3 debt left without collateral goes to the deficit; under v3.0 it stays owed."""
    thin = 2e6  # a shallow pool makes the cascade deep enough to leave bad debt
    v33 = _run("v3.3", depth_usd=thin)
    r33 = v33.run()
    v30 = _run("v3.0", depth_usd=thin)
    r30 = v30.run()
    assert set(r33.bad_debt["treatment"]) == {"deficit"}
    assert set(r30.bad_debt["treatment"]) == {"residual"}
    book33 = v33.context.venues["aave"].books[0]
    burned = r33.bad_debt["account"].to_numpy()
    assert (book33.debt[burned] == 0).all()
    assert (book33.collateral[burned] == 0).all()
    book30 = v30.context.venues["aave"].books[0]
    left = r30.bad_debt["account"].to_numpy()
    assert (book30.debt[left] > 0).all()
    assert v33.context.venues["aave"].metrics()["deficit_usd"] == pytest.approx(
        r33.log.total(BadDebtRealized, "amount_usd")
    )


def test_v2_close_factor_is_always_half() -> None:
    """Aave v2 repays at most 50% of the debt in one call, whatever the health factor."""
    sim = _run("v2")
    book = sim.context.venues["aave"].books[0]
    debt0 = book.debt.copy()
    result = sim.run()
    first = result.liquidations.drop_duplicates("account", keep="first")
    ratio = first["debt_repaid"].to_numpy() / debt0[first["account"].to_numpy()]
    assert ratio.max() <= 0.5 + 1e-12
    assert result.log.count(LiquidationExecuted) > 0


def test_positions_below_the_line_at_the_start_are_found_in_the_first_block() -> None:
    """With health factors drawn from [0.85, 1.2] and no price move, the first block (t = 12)
    already finds and flags the positions below 1."""
    data = tiny_scenario_dict(accounts=300, horizon_s=600.0)
    data["venues"][0]["params"]["populations"][0]["health_factor"] = {
        "kind": "uniform",
        "low": 0.85,
        "high": 1.2,
    }
    data["shocks"] = []
    result = Simulation(Scenario.from_dict(data), seed=3).run()
    flagged = result.log.of_type(PositionsBecameLiquidatable)
    assert flagged[0].t == 12.0
    assert result.liquidations["t"].min() == 24.0


def test_each_position_is_flagged_once_while_it_stays_below_the_line() -> None:
    """The flag counts add up to at most the positions that ever crossed (plus re-crossings of
    positions a partial liquidation left above the line)."""
    sim = _run()
    result = sim.run()
    flagged = sum(e.count for e in result.log.of_type(PositionsBecameLiquidatable))
    liquidated_accounts = result.liquidations["account"].nunique()
    assert flagged <= liquidated_accounts + len(result.liquidations)
    assert flagged >= liquidated_accounts


def test_declined_positions_are_looked_at_again_after_congestion_ends() -> None:
    """Gas at 1000× the base fee makes every liquidation unprofitable until 1,200 s; without a
    new price, the venue re-examines them within its 60 s recheck interval after that."""
    data = tiny_scenario_dict(accounts=300, depth_usd=200e6, horizon_s=3_000.0)
    data["shocks"].append(
        {
            "kind": "chain_congestion",
            "at_s": 0.0,
            "chain": "ethereum",
            "duration_s": 1_200.0,
            "base_fee_multiplier": 1_000.0,
            "background_gas_share": 0.0,
        }
    )
    result = Simulation(Scenario.from_dict(data), seed=3).run()
    t = result.liquidations["t"]
    assert (t < 1_200.0).sum() == 0
    assert 1_200.0 <= t.min() <= 1_200.0 + 60.0 + 24.0


def test_a_pair_quote_asked_again_is_the_kernels_answer_and_a_new_balance_is_requoted() -> None:
    """A keeper asking the same question twice (same positions, balances and prices) gets the
    same answer, equal to the kernel's, with read-only arrays; once a balance changes, the
    answer is the kernel's for the new balance."""
    from protosim.protocols.lending.aave_v3 import kernels

    sim = Simulation(Scenario.from_dict(tiny_scenario_dict(accounts=50)))
    venue = sim.context.venues["aave"]
    book = venue.books[0]
    positions = np.arange(10, dtype=np.int64)
    p_c, p_d = venue.price(book.collateral_asset), venue.price(book.debt_asset)
    terms = venue._pair_terms(book.collateral_asset)

    def kernel() -> kernels.LiquidationBatch:
        return kernels.liquidate_max_pair(
            book.collateral[positions], book.debt[positions], p_c, p_d, terms
        )

    first = venue.quote(0, positions)
    again = venue.quote(0, positions.copy())
    assert again is first
    np.testing.assert_array_equal(first.debt_repaid, kernel().debt_repaid)
    assert not first.debt_repaid.flags.writeable
    book.update(positions[:1], book.collateral[:1] * 0.5, book.debt[:1])
    after = venue.quote(0, positions)
    assert after is not first
    np.testing.assert_array_equal(after.collateral_seized, kernel().collateral_seized)


def test_a_pair_quote_survives_an_update_of_other_positions_not_of_its_own() -> None:
    """Liquidating elsewhere in the book (a new book version) leaves these positions' balances,
    so the same question gets the same answer; an update of one of them gets the kernel's."""
    sim = Simulation(Scenario.from_dict(tiny_scenario_dict(accounts=50)))
    venue = sim.context.venues["aave"]
    book = venue.books[0]
    positions = np.arange(10, dtype=np.int64)
    first = venue.quote(0, positions)
    book.update(np.array([20]), book.collateral[20:21] * 0.5, book.debt[20:21])
    assert venue.quote(0, positions.copy()) is first
    book.update(np.array([3]), book.collateral[3:4] * 0.5, book.debt[3:4])
    after = venue.quote(0, positions)
    assert after is not first
    assert after.collateral_seized[3] != first.collateral_seized[3] or not first.executed[3]
