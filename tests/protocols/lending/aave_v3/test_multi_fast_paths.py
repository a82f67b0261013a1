"""The multi-reserve book's and market's fast paths answer exactly (bit for bit) what the plain
computations they replace answer."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np
import pytest

from protosim.engine import Simulation
from protosim.protocols.lending.aave_v3 import kernels, multi, multibook
from protosim.protocols.lending.aave_v3.bench import multi_bench_scenario
from protosim.protocols.lending.aave_v3.multi import ReserveState
from protosim.protocols.lending.aave_v3.multibook import MultiBook


@pytest.mark.parametrize("columns", range(9))
def test_row_dot_equals_einsum(columns: int) -> None:
    """`row_dot` is ``np.einsum("ij,ij->i")`` bit for bit, for every book width, numbers of
    very different sizes, zeros and strided inputs (einsum of their contiguous copies)."""
    rng = np.random.default_rng(columns)
    scale = np.array([0.0, 1e-12, 1e-3, 1.0, 1e4, 1e12])
    a = rng.random((3_000, columns)) * rng.choice(scale, (3_000, columns))
    b = rng.random((3_000, columns)) * rng.choice(scale, (3_000, columns))
    np.testing.assert_array_equal(multibook.row_dot(a, b), np.einsum("ij,ij->i", a, b))
    wide = np.hstack([b, rng.random((3_000, 1))])[:, :columns]
    np.testing.assert_array_equal(
        multibook.row_dot(a, wide), np.einsum("ij,ij->i", a, np.ascontiguousarray(wide))
    )


@pytest.mark.parametrize("columns", [1, 2, 3, 5])
def test_row_argmax_equals_argmax_and_max(columns: int) -> None:
    """`row_argmax` is ``argmax(axis=1)`` (ties to the first column, -inf rows to 0) and its
    maxima ``max(axis=1)``."""
    rng = np.random.default_rng(columns)
    a = rng.integers(0, 4, (1_000, columns)).astype(np.float64)
    a[rng.random((1_000, columns)) < 0.3] = -np.inf
    maxima = np.empty(1_000)
    np.testing.assert_array_equal(multibook.row_argmax(a, maxima), a.argmax(axis=1))
    np.testing.assert_array_equal(maxima, a.max(axis=1))
    np.testing.assert_array_equal(multibook.row_argmax(a), a.argmax(axis=1))


def test_health_is_weighted_over_debt_and_inf_without_debt() -> None:
    """`MultiBook.health` is ``where(debt > 0, weighted / debt, inf)`` bit for bit, with and
    without rows that owe nothing (zero, negative zero, NaN debt)."""
    rng = np.random.default_rng(17)
    weighted = rng.random(1_000) * 1e4
    weighted[::50] = 0.0
    debt = rng.random(1_000) * 1e4
    for case in ("all_owe", "some_do_not"):
        if case == "some_do_not":
            debt[::7] = 0.0
            debt[3::11] = -0.0
            debt[5::13] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            plain = np.where(debt > 0, weighted / np.where(debt > 0, debt, 1.0), np.inf)
        np.testing.assert_array_equal(MultiBook.health(weighted, debt), plain)


def test_indexes_are_recomputed_after_any_change_of_the_reserve() -> None:
    """`ReserveState.indexes` answers as a reserve never asked before, after every change of
    the state it reads (index, rate, debt, update time) and of the instant."""
    state = ReserveState(None, 1.01, 1.02, 0.03, 0.05, 100.0, 10.0, 5.0)
    state.strategy = object()  # type: ignore[assignment]  # any strategy: indexes move
    changes: list[tuple[str, Any]] = [
        ("liquidity_index", 1.015),
        ("borrow_index", 1.03),
        ("liquidity_rate", 0.04),
        ("borrow_rate", 0.07),
        ("scaled_debt", 0.0),
        ("scaled_debt", 3.0),
        ("updated_at", 150.0),
    ]
    for now in (200.0, 200.0, 900.0):
        fresh = dataclasses.replace(state, _last_indexes=None)
        assert state.indexes(now) == fresh.indexes(now)
    for name, value in changes:
        state.indexes(1_000.0)
        setattr(state, name, value)
        fresh = dataclasses.replace(state, _last_indexes=None)
        assert state.indexes(1_000.0) == fresh.indexes(1_000.0)


def test_liquidate_accounts_fast_paths_equal_the_batch_rows() -> None:
    """`liquidate_accounts` is elementwise: a batch where no call reverts and none leaves an
    account without collateral (its shortcuts: no masking, zero deficits without a pass, the
    default offer taken as the maximum) equals those rows of a batch with every case, and an
    offer of infinity per account equals the default."""
    rng = np.random.default_rng(23)
    k = 400
    c = rng.uniform(0.0, 5.0, k)
    d = rng.uniform(0.0, 9_000.0, k)
    other = rng.uniform(0.0, 3_000.0, k) * (rng.random(k) < 0.5)
    total = d * 1.0 + rng.uniform(0.0, 9_000.0, k)
    hf = rng.uniform(0.5, 1.2, k)
    enabled = rng.random(k) < 0.9
    lb = rng.choice([1.05, 1.075], k)
    for rules in ("v2", "v3.0", "v3.3"):
        fee = 0.0 if rules == "v2" else 0.1

        def run(rows: Any, to_cover: Any = np.inf, rules: str = rules, fee: float = fee) -> Any:
            return kernels.liquidate_accounts(
                c[rows],
                d[rows],
                2_000.0,
                1.0,
                other_collateral_usd=other[rows],
                total_debt_usd=total[rows],
                health=hf[rows],
                collateral_enabled=enabled[rows],
                liquidation_bonus=lb[rows],
                protocol_fee=fee,
                rules=rules,
                debt_to_cover=to_cover,
            )

        everything = np.arange(k)
        batch, burned = run(everything)
        assert not batch.executed.all()
        assert burned.any()
        plain = run(everything, np.full(k, np.inf))
        calm = np.flatnonzero(batch.executed & ~burned)
        short = run(calm)
        assert short[0].executed.all()
        assert not short[1].any()
        for mine, theirs in ((plain, (batch, burned)), (short, (batch.take(calm), burned[calm]))):
            for a, b in zip(mine[0].arrays(), theirs[0].arrays(), strict=True):
                np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(mine[1], theirs[1])


def _plain_indexes(self: ReserveState, now: float) -> tuple[float, float]:
    dt = now - self.updated_at
    if dt <= 0 or self.strategy is None:
        return self.liquidity_index, self.borrow_index
    li = self.liquidity_index * (1.0 + self.liquidity_rate * dt / multi.SECONDS_PER_YEAR)
    bi = self.borrow_index
    if self.scaled_debt > 0:
        bi *= float(kernels.compounded_interest(self.borrow_rate, dt))
    return li, bi


def _plain_row_argmax(a: np.ndarray, maxima: np.ndarray | None = None) -> np.ndarray:
    if maxima is not None:
        maxima[:] = a.max(axis=1)
    return a.argmax(axis=1)


def _plain_take_column(
    values: np.ndarray, at: np.ndarray, column: int, flat_at: Any = None
) -> np.ndarray:
    del flat_at
    return values[at, column]


def _plain_health(weighted: np.ndarray, debt: np.ndarray) -> np.ndarray:
    owes = debt > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(owes, weighted / np.where(owes, debt, 1.0), np.inf)


_FAST_HASH: list[str] = []


def _fast_hash() -> str:
    # The fast paths' run, shared by the tests comparing plain computations with it.
    if not _FAST_HASH:
        _FAST_HASH.append(_run_hash())
    return _FAST_HASH[0]


def _run_hash() -> str:
    result = Simulation(multi_bench_scenario(5_000, 12.0)).run()
    log = result.log
    digest = hashlib.sha256()
    for kind in sorted(log.kinds, key=lambda k: k.__name__):
        for name, col in sorted(log.columns(kind).items()):
            digest.update(f"{kind.__name__}.{name}".encode())
            digest.update(
                np.ascontiguousarray(col).tobytes()
                if col.dtype != object
                else repr(col.tolist()).encode()
            )
    return digest.hexdigest()


def test_multi_bench_events_equal_those_of_the_plain_computations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small multi-reserve bench run logs the same events, bit for bit, with the book's and
    market's fast paths as with the plain computations in their place (a liquidation's book
    update through `changed`, einsum, fancy indexing, argmax, indexes computed every time)."""
    fast = _fast_hash()
    monkeypatch.setattr(
        MultiBook, "rebalanced", lambda self, rows, supplied, borrowed: self.changed(rows)
    )
    monkeypatch.setattr(
        multibook, "row_dot", lambda a, b: np.einsum("ij,ij->i", a, np.ascontiguousarray(b))
    )
    monkeypatch.setattr(multibook, "_take_column", _plain_take_column)
    monkeypatch.setattr(multibook, "row_argmax", _plain_row_argmax)
    monkeypatch.setattr(multi, "row_argmax", _plain_row_argmax, raising=False)
    monkeypatch.setattr(MultiBook, "health", staticmethod(_plain_health))
    monkeypatch.setattr(ReserveState, "indexes", _plain_indexes)
    assert _run_hash() == fast


def _general_liquidate_accounts(*args: Any, **kwargs: Any) -> Any:
    # One-element price arrays are not a venue's batch: the broadcasting path.
    c, d, pc, pd = args
    return _LIQUIDATE_ACCOUNTS(c, d, np.array([pc]), np.array([pd]), **kwargs)


_LIQUIDATE_ACCOUNTS = kernels.liquidate_accounts


def test_multi_bench_liquidations_equal_those_of_the_plain_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small multi-reserve bench run logs the same events, bit for bit, with the market's
    liquidation shortcuts as without them (the kernel's broadcasting path, each account's
    bonus by its category, every batch selected by the executed mask, isolated debt always
    looked up)."""
    fast = _fast_hash()
    build = multi.MultiMarket._build_tables

    def plain_tables(self: multi.MultiMarket) -> None:
        build(self)
        self._one_bonus = [None] * len(self._one_bonus)
        self._ceilings = True

    monkeypatch.setattr(multi.MultiMarket, "_build_tables", plain_tables)
    monkeypatch.setattr(multi, "_executes_all", lambda ok: False)
    monkeypatch.setattr(kernels, "liquidate_accounts", _general_liquidate_accounts)
    assert _run_hash() == fast


def _bits(arrays: Any) -> list[bytes]:
    return [np.ascontiguousarray(a).tobytes() for a in arrays]


@pytest.mark.parametrize("rules", ["v2", "v3.0", "v3.3"])
@pytest.mark.parametrize("case", ["mixed", "all_limited", "none_limited", "edges"])
def test_liquidate_accounts_batch_path_equals_the_broadcasting_path(rules: str, case: str) -> None:
    """A venue's batch (scalar prices, the maximum offer) gives the broadcasting path's every
    bit, with a bonus per account or one for all: collateral all taken or never, reverts,
    no other collateral, zero, negative-zero and NaN balances."""
    rng = np.random.default_rng(len(case) * 7 + len(rules))
    k = 300
    scale = {"mixed": 5.0, "all_limited": 1e-3, "none_limited": 1e6, "edges": 5.0}[case]
    c = rng.uniform(0.0, scale, k)
    d = rng.uniform(0.0, 9_000.0, k)
    other = rng.uniform(0.0, 3_000.0, k) * (rng.random(k) < 0.5)
    total = d + rng.uniform(0.0, 9_000.0, k)
    hf = rng.uniform(0.5, 1.2, k)
    enabled = rng.random(k) < 0.9
    if case == "edges":
        c[::17] = 0.0
        d[1::19] = -0.0
        c[2::23] = np.nan
        d[3::29] = np.nan
        hf[4::31] = np.nan
        other[5::37] = -0.0
    fee = 0.0 if rules == "v2" else 0.1
    for lb in (1.05, rng.choice([1.05, 1.075], k)):
        kwargs: dict[str, Any] = {
            "other_collateral_usd": other,
            "total_debt_usd": total,
            "health": hf,
            "collateral_enabled": enabled,
            "liquidation_bonus": lb,
            "protocol_fee": fee,
            "rules": rules,
        }
        with np.errstate(invalid="ignore"):
            fast, burned = kernels.liquidate_accounts(c, d, 2_000.0, 1.0, **kwargs)
            plain, plain_burned = kernels.liquidate_accounts(
                c, d, np.array([2_000.0]), np.array([1.0]), **kwargs
            )
        assert _bits(fast.arrays()) == _bits(plain.arrays())
        assert _bits([burned]) == _bits([plain_burned])
