"""Liquidation keepers: the profit rule (mechanics §11.1), capital, races and inclusion order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import LiquidationsDeclined, LiquidationsFailed
from protosim.protocols.lending.keeper import decide
from protosim.testing import tiny_scenario_dict


def test_decide_acts_only_above_min_profit() -> None:
    """profit = proceeds − repay·(1 + premium) − gas; act iff profit > min_profit."""
    repay = np.array([1_000.0, 1_000.0, 1_000.0])
    proceeds = np.array([1_050.0, 1_030.6, 1_030.4])
    # 1050 − 1000·1.0005 − 20 = 29.5; 1030.6 − 1000.5 − 20 = 10.1; 1030.4 − 1020.5 = 9.9.
    d = decide(
        repay,
        proceeds,
        gas_cost_usd=20.0,
        flashloan_premium_bps=5.0,
        min_profit_usd=10.0,
        capital_usd=math.inf,
    )
    assert d.act.tolist() == [True, True, False]
    assert d.unprofitable == 1


def test_decide_spends_capital_on_the_most_profitable_first() -> None:
    """With 2,000 of capital and three 1,000 repayments, the two best are chosen."""
    repay = np.array([1_000.0, 1_000.0, 1_000.0])
    proceeds = np.array([1_040.0, 1_100.0, 1_070.0])  # profits 40, 100, 70 with no costs
    d = decide(
        repay,
        proceeds,
        gas_cost_usd=0.0,
        flashloan_premium_bps=0.0,
        min_profit_usd=0.0,
        capital_usd=2_000.0,
    )
    assert d.act.tolist() == [False, True, True]
    assert d.over_capital == 1


def _scenario(keepers: list[dict[str, object]], accounts: int = 600) -> Scenario:
    data = tiny_scenario_dict(accounts=accounts, depth_usd=200e6)
    data["agents"] = keepers
    return Scenario.from_dict(data)


def _keeper(agent_id: str, **params: object) -> dict[str, object]:
    base: dict[str, object] = {"venue": "aave", "sell_on": {"ETH": "uniswap"}, "latency_s": 1.0}
    base.update(params)
    return {"id": agent_id, "kind": "agent.lending_keeper", "params": base}


def test_keeper_with_unreachable_profit_threshold_liquidates_nothing() -> None:
    """A keeper that wants more than any bonus pays declines every candidate, with a reason."""
    result = Simulation(_scenario([_keeper("greedy", min_profit_usd=1e12)]), seed=2).run()
    assert len(result.liquidations) == 0
    declined = result.log.of_type(LiquidationsDeclined)
    assert declined
    assert {d.reason for d in declined} == {"unprofitable"}


def _executes_before(liquidations: object, early: str, late: str, *, blocks: int = 0) -> bool:
    frame = liquidations  # one row per liquidation: block, seq, liquidator
    groups = list(frame.groupby("block"))  # type: ignore[attr-defined]
    for _, rows in groups[:blocks] if blocks else groups:
        a = rows.loc[rows["liquidator"] == early, "seq"]
        b = rows.loc[rows["liquidator"] == late, "seq"]
        if len(a) and len(b) and a.max() > b.min():
            return False
    return True


def test_higher_priority_fee_is_included_first_and_wins_the_race() -> None:
    """In every block the higher bid executes first; the lower bid's calls on the same
    positions then fail (the race is lost), and it gets only what the winner left."""
    keepers = [
        _keeper("low", priority_fee_gwei=1.0),
        _keeper("high", priority_fee_gwei=10.0),
    ]
    result = Simulation(_scenario(keepers), seed=2).run()
    liq = result.liquidations
    assert _executes_before(liq, "high", "low")
    counts = liq["liquidator"].value_counts()
    assert counts["high"] > counts.get("low", 0)
    failed = result.log.of_type(LiquidationsFailed)
    assert sum(f.count for f in failed if f.liquidator == "low") > 0


def test_equal_bids_are_included_in_submission_order() -> None:
    """With equal fees, the keeper that submitted first (both react to the same risk check;
    the one registered first submits first) executes first in the first contested block."""
    keepers = [_keeper("first"), _keeper("second")]
    result = Simulation(_scenario(keepers), seed=2).run()
    liq = result.liquidations
    assert _executes_before(liq, "first", "second", blocks=1)
    assert liq["liquidator"].value_counts()["first"] > 0


def test_keeper_can_prefer_the_collateral_with_the_best_bonus() -> None:
    """pair_choice = "best_bonus": on multi-reserve accounts (60 % ETH at 5 %, 30 % WBTC at
    5 %, 10 % wstETH at 6 % bonus) the keeper seizes wstETH first, not the larger ETH."""
    import tomllib
    from pathlib import Path

    from protosim import Scenario, Simulation

    path = Path(__file__).parent / "aave_v3" / "data" / "multi_crash.toml"
    with path.open("rb") as f:
        data = tomllib.load(f)
    data["agents"][0]["params"]["pair_choice"] = "best_bonus"
    result = Simulation(Scenario.from_dict(data)).run()
    first = result.liquidations.sort_values("seq").groupby("account").first()
    assert len(first) > 0
    assert (first["collateral_asset"] == "wstETH").all()


def test_sale_is_priced_after_the_keepers_waiting_sales_on_the_same_venue() -> None:
    """Each liquidation fetches what it adds to the keeper's sale, which comes after what its
    transactions still waiting to execute will sell on that pool: with 1,000 ETH waiting,
    two 10 ETH liquidations fetch f(1010) − f(1000) and f(1020) − f(1010)."""
    sim = Simulation(_scenario([_keeper("k")]), seed=2)
    keeper = sim.context.agents["k"]
    # Hand derivation (mechanics §12.1, fee on the input): a $200M-per-side pool at $2,000
    # holds x = 100,000 ETH and y = $200M; selling q pays f(q) = y·q'/(x + q'), q' = 0.997·q.
    x, y = 100_000.0, 200e6

    def f(q: float) -> float:
        return y * 0.997 * q / (x + 0.997 * q)

    alone = keeper._marginal_proceeds("ETH", np.array([10.0, 10.0]))
    np.testing.assert_allclose(alone, [f(10), f(20) - f(10)], rtol=1e-9)
    keeper._selling["uniswap"] = [1_000.0, 1]
    after = keeper._marginal_proceeds("ETH", np.array([10.0, 10.0]))
    np.testing.assert_allclose(after, [f(1010) - f(1000), f(1020) - f(1010)], rtol=1e-9)
    assert after[0] < alone[0]


def test_a_quote_handed_out_again_reads_as_it_did_and_a_new_one_afresh() -> None:
    """The executable part of a quote is the rows whose calls execute: for a quote of four
    with the third reverting, positions [5, 6, 8], collateral [1, 2, 4], debt USD at $1 each
    [10, 20, 40] and running totals [1, 3, 7], whether the same quote comes again (remembered)
    or an equal new one (computed)."""
    from types import SimpleNamespace

    sim = Simulation(_scenario([_keeper("k")]), seed=2)
    keeper = sim.context.agents["k"]

    def quote() -> SimpleNamespace:
        return SimpleNamespace(
            executed=np.array([True, True, False, True]),
            collateral_to_liquidator=np.array([1.0, 2.0, 3.0, 4.0]),
            debt_repaid=np.array([10.0, 20.0, 30.0, 40.0]),
        )

    positions = np.array([5, 6, 7, 8])
    first = quote()
    for asked in (first, first, quote()):
        got, received, repay_usd, sold = keeper._executable(asked, positions, "USDC")
        assert got.tolist() == [5, 6, 8]
        assert received.tolist() == [1.0, 2.0, 4.0]
        assert repay_usd.tolist() == [10.0, 20.0, 40.0]  # USDC at its $1 feed
        assert sold.tolist() == [1.0, 3.0, 7.0]
    assert keeper._last_quote is not None
    assert keeper._last_quote[0] is not first


def test_descending_rank_is_the_inverse_of_a_stable_descending_argsort() -> None:
    """`_descending_rank` gives each column its place in ``argsort(-a, kind="stable")`` of its
    row (ties, -inf included, to the earlier column)."""
    from protosim.protocols.lending.keeper import _descending_rank

    rng = np.random.default_rng(29)
    for columns in (1, 2, 3, 5):
        a = rng.integers(0, 3, (500, columns)).astype(np.float64)
        a[rng.random((500, columns)) < 0.3] = -np.inf
        order = np.argsort(-a, axis=1, kind="stable")
        expected = np.empty_like(order)
        np.put_along_axis(expected, order, np.arange(columns)[None, :], axis=1)
        np.testing.assert_array_equal(_descending_rank(a), expected)


def test_multi_keeper_offers_each_pair_the_accounts_preferring_it_in_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the multi-reserve book each first batch of a look goes to one (collateral, debt)
    pair, in key order: exactly the accounts whose largest collateral and largest debt it is
    (argmax, ties to the earlier column), in the order the venue gave them."""
    from protosim.protocols.lending.aave_v3.bench import multi_bench_scenario
    from protosim.protocols.lending.keeper import LendingKeeper

    looks: list[tuple[np.ndarray, list[str], np.ndarray, list[str], np.ndarray]] = []
    offers: list[list[tuple[np.ndarray, tuple[str, str] | None]]] = []
    consider_multi, consider = LendingKeeper._consider_multi, LendingKeeper._consider

    def spy_multi(self: LendingKeeper, book_index: int, positions: np.ndarray, *a: object) -> float:
        c, coll, d, debt = self.venue.reserve_values(book_index, positions)  # type: ignore[attr-defined]
        looks.append((positions.copy(), c, coll.copy(), d, debt.copy()))
        offers.append([])
        return consider_multi(self, book_index, positions, *a)  # type: ignore[arg-type]

    def spy(
        self: LendingKeeper, book_index: int, positions: np.ndarray, *a: object, **kw: object
    ) -> object:
        if offers and len(a) == 3:
            offers[-1].append((positions.copy(), a[2]))  # type: ignore[arg-type]
        return consider(self, book_index, positions, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LendingKeeper, "_consider_multi", spy_multi)
    monkeypatch.setattr(LendingKeeper, "_consider", spy)
    Simulation(multi_bench_scenario(5_000, 12.0)).run()
    several = 0
    for (positions, c, coll, d, debt), made in zip(looks, offers, strict=True):
        score = np.where(coll > 0, coll, -np.inf)
        key = score.argmax(axis=1) * len(d) + debt.argmax(axis=1)
        held = (score.max(axis=1) > -np.inf) & (debt.max(axis=1) > 0)
        pairs = np.unique(key[held])
        several += pairs.size > 1
        for k, (group, pair) in zip(pairs, made, strict=False):
            assert pair == (c[k // len(d)], d[k % len(d)])
            np.testing.assert_array_equal(group, positions[held & (key == k)])
    assert several > 10


def test_column_at_place_is_a_column_of_a_stable_descending_argsort() -> None:
    """`_column_at_place(a, p, floor)` is column p of ``argsort(-a, kind="stable")`` of each
    row (ties, -inf included, to the earlier column) and whether that value is above floor."""
    from protosim.protocols.lending.keeper import _column_at_place

    rng = np.random.default_rng(31)
    for columns in (1, 2, 3, 5):
        a = rng.integers(0, 3, (500, columns)).astype(np.float64)
        a[rng.random((500, columns)) < 0.3] = -np.inf
        order = np.argsort(-a, axis=1, kind="stable")
        for place in range(columns):
            for floor in (-np.inf, 0.0, 1.0):
                column, above = _column_at_place(a, place, floor)
                np.testing.assert_array_equal(column, order[:, place])
                np.testing.assert_array_equal(above, a[np.arange(500), order[:, place]] > floor)


def _multi_offers_reference(
    coll: np.ndarray,
    debt: np.ndarray,
    score: np.ndarray,
    positions: np.ndarray,
    offer: object,
    budget: float,
) -> list[tuple[list[int], tuple[int, int]]]:
    """The multi keeper's offers, computed plainly: each account's whole order of pairs from
    stable descending argsorts (-1 where a reserve is not held: skipped), a boolean mask per
    pair, the reverted and skipped accounts sorted back into the venue's order."""
    k, d = debt.shape
    c_order = np.argsort(-score, axis=1, kind="stable")
    d_order = np.argsort(-debt, axis=1, kind="stable")
    c_held = np.take_along_axis(coll, c_order, axis=1) > 0
    d_held = np.take_along_axis(debt, d_order, axis=1) > 0
    keys = (c_order[:, :, None] * d + d_order[:, None, :]).reshape(k, -1)
    preference = np.where((c_held[:, :, None] & d_held[:, None, :]).reshape(k, -1), keys, -1)
    made: list[tuple[list[int], tuple[int, int]]] = []
    spent = 0.0
    pending = np.arange(k)
    for rank in range(preference.shape[1]):
        keys = preference[pending, rank]
        # An account whose pair at this place is of a reserve it does not hold waits for
        # its next place.
        carried: list[int] = pending[keys < 0].tolist()
        for key in np.unique(keys[keys >= 0]):
            if budget - spent <= 0:
                return made
            members = pending[keys == key]
            made.append((positions[members].tolist(), (int(key) // d, int(key) % d)))
            committed, executable = offer(positions[members], (int(key) // d, int(key) % d))  # type: ignore[operator]
            spent += committed
            carried += members[~executable].tolist()
        pending = np.array(sorted(carried), dtype=np.int64)
        if pending.size == 0:
            break
    return made


def _multi_offers(
    coll: np.ndarray,
    debt: np.ndarray,
    bonus: np.ndarray,
    positions: np.ndarray,
    choice: str,
    budget: float,
    offer: object,
) -> list[tuple[list[int], tuple[int, int]]]:
    """The offers `_consider_multi` makes on a stub venue, each answered by `offer`."""
    from protosim.protocols.lending.keeper import KeeperParams, LendingKeeper

    c_names = [f"c{i}" for i in range(coll.shape[1])]
    d_names = [f"d{i}" for i in range(debt.shape[1])]

    class Venue:
        def reserve_values(
            self, book_index: int, at: np.ndarray, candidate_at: np.ndarray | None = None
        ) -> tuple[object, ...]:
            return c_names, coll[at], d_names, debt[at]

        def collateral_bonus(self, book_index: int, at: np.ndarray) -> np.ndarray:
            return bonus[at]

    made: list[tuple[list[int], tuple[int, int]]] = []

    def consider(
        book_index: int,
        group: np.ndarray,
        cause: int,
        left: float,
        pair: tuple[str, str],
        candidate_at: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        key = (c_names.index(pair[0]), d_names.index(pair[1]))
        # Where the group is among the positions looked at, handed on to the venue.
        assert candidate_at is not None
        np.testing.assert_array_equal(positions[candidate_at], group)
        made.append((group.tolist(), key))
        return offer(group, key)  # type: ignore[operator,no-any-return]

    keeper = LendingKeeper.__new__(LendingKeeper)
    keeper.params = KeeperParams(venue="v", pair_choice=choice)  # type: ignore[arg-type]
    keeper.venue = Venue()  # type: ignore[assignment]
    keeper._consider = consider  # type: ignore[method-assign,assignment]
    keeper._consider_multi(0, positions, 0, budget)
    return made


def test_multi_keeper_offers_every_place_of_the_preference_as_the_plain_rule_does() -> None:
    """`_consider_multi` makes the offers of the plain rule (whole preference by stable
    argsorts, a mask per pair, reverted accounts re-sorted), for both pair choices, books of
    several shapes with ties and reserves not held, many reverts, and a budget running out."""

    def offer(group: np.ndarray, pair: tuple[int, int]) -> tuple[float, np.ndarray]:
        # Calls revert by a rule of the account and the pair: 40 % of them.
        return 1.0, (group * 7 + pair[0] * 13 + pair[1] * 29) % 5 >= 2

    rng = np.random.default_rng(37)
    for (c, d), choice, budget in (
        ((3, 2), "largest", math.inf),
        ((3, 2), "best_bonus", math.inf),
        ((1, 1), "largest", math.inf),
        ((2, 3), "largest", math.inf),
        ((4, 3), "best_bonus", math.inf),
        ((3, 2), "largest", 7.5),
    ):
        n = 4_000
        coll = rng.choice([0.0, 1.0, 2.0, 5.0], (n, c))
        debt = rng.choice([0.0, 1.0, 3.0], (n, d))
        bonus = rng.choice([1.05, 1.075], (n, c))
        positions = rng.permutation(n)[:1_500]
        made = _multi_offers(coll, debt, bonus, positions, choice, budget, offer)
        score = coll[positions]
        if choice == "best_bonus":
            score = bonus[positions] * 1e30 + score
        score = np.where(coll[positions] > 0, score, -np.inf)
        expected = _multi_offers_reference(
            coll[positions], debt[positions], score, positions, offer, budget
        )
        assert made == expected
        if budget < math.inf:
            assert len(made) == 8  # each offer commits 1 of the 7.5
        elif c * d > 1:
            # Accounts reached their third place and beyond.
            offered = np.bincount(np.concatenate([m[0] for m in made]))
            assert offered.max() >= 3


def test_in_flight_count_is_the_number_of_positions_flagged_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At every look the keeper's count of positions in flight equals the flags it holds
    (so a count of 0 may skip looking them up), and looks with some in flight do occur."""
    from protosim.protocols.lending.aave_v3.bench import multi_bench_scenario
    from protosim.protocols.lending.keeper import LendingKeeper

    react = LendingKeeper._react
    counts: list[int] = []

    def spy(self: LendingKeeper, block: int) -> None:
        flagged = sum(int(np.count_nonzero(f)) for f in self._in_flight)
        assert self._in_flight_count == flagged
        counts.append(flagged)
        react(self, block)

    monkeypatch.setattr(LendingKeeper, "_react", spy)
    Simulation(multi_bench_scenario(1_000, 12.0)).run()
    assert max(counts) > 0


def test_multi_keeper_offers_a_reverted_account_its_next_pair_it_holds() -> None:
    """An account holding collateral c0 ($1) and c1 ($2) and only debt d0 ($5): when its call
    on (c1, d0) reverts, the next place (c1, d1) is a debt it does not hold, so it is offered
    (c0, d0), the place after."""
    coll = np.array([[1.0, 2.0]])
    debt = np.array([[5.0, 0.0]])

    def offer(group: np.ndarray, pair: tuple[int, int]) -> tuple[float, np.ndarray]:
        return 0.0, np.full(group.size, pair != (1, 0))  # (c1, d0) reverts

    made = _multi_offers(coll, debt, np.ones((1, 2)), np.array([0]), "largest", 1.0, offer)
    assert made == [([0], (1, 0)), ([0], (0, 0))]
