"""Tests of protosim.eventlog: sequencing, validation, columnar round trips, causes and JSONL.

Expected values are the inputs themselves (what was emitted must read back) or sums worked out
independently of the log; nothing is copied from the log's own output.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.eventlog import EventLog
from protosim.events import (
    ROOT,
    BadDebtRealized,
    LiquidationExecuted,
    OracleStateChanged,
    OracleUpdated,
    PositionsBecameLiquidatable,
    ShockApplied,
    TradeExecuted,
)


class Stamp:
    """A settable clock and block for the log to stamp."""

    def __init__(self) -> None:
        self.t = 0.0
        self.block = 0


@pytest.fixture
def stamp() -> Stamp:
    return Stamp()


@pytest.fixture
def log(stamp: Stamp) -> EventLog:
    return EventLog(now=lambda: stamp.t, block=lambda: stamp.block)


def shock(log: EventLog, **overrides: object) -> int:
    fields: dict[str, object] = {
        "shock": "price_jump",
        "target": "ETH",
        "size": -0.2,
        "duration_s": 300.0,
    }
    fields.update(overrides)
    return log.emit(ShockApplied, **fields)  # type: ignore[arg-type]


def trade(log: EventLog, *, cause: int = ROOT, cause_span: int = 1, quantity: float = -1.0) -> int:
    return log.emit(
        TradeExecuted,
        cause=cause,
        cause_span=cause_span,
        venue="uniswap",
        asset="ETH",
        trader="keeper",
        quantity=quantity,
        notional_usd=1_990.0,
        price_before=2_000.0,
        price_after=1_980.0,
    )


LIQ = {
    "venue": "aave",
    "account": np.array([10, 11, 12, 13]),
    "liquidator": "keeper",
    "collateral_asset": np.array(["WBTC", "ETH", "WBTC", "stETH"], dtype=object),
    "debt_asset": "USDC",
    "debt_repaid": np.array([100.0, 200.0, 300.0, 400.0]),
    "collateral_seized": np.array([0.0525, 0.105, 0.1575, 0.21]),
    "protocol_fee": 0.0,
    "debt_repaid_usd": np.array([100.0, 200.0, 300.0, 400.0]),
    "collateral_seized_usd": np.array([105.0, 210.0, 315.0, 420.0]),
    "health_before": np.array([0.99, 0.98, 0.97, 0.96]),
}


BAD_DEBT: dict[str, Any] = {"venue": "aave", "asset": "USDC", "amount": 0.0, "treatment": "deficit"}


def liquidations(
    log: EventLog, *, cause: int | np.ndarray = ROOT, cause_span: int | np.ndarray = 1
) -> int:
    return log.emit_batch(LiquidationExecuted, 4, cause=cause, cause_span=cause_span, **LIQ)


# -- sequencing and validation ------------------------------------------------------------------


def test_emit_seq_numbers_consecutive_across_kinds_and_batches(log: EventLog) -> None:
    """Seq numbers run 0, 1, 2, ... over every kind; a batch takes a consecutive block of them."""
    assert shock(log) == 0
    assert trade(log) == 1
    assert log.emit_batch(OracleStateChanged, 3, oracle="eth-usd", state="outage") == 2
    assert trade(log) == 5
    assert len(log) == 6
    assert log.column(ShockApplied, "seq").tolist() == [0]
    assert log.column(TradeExecuted, "seq").tolist() == [1, 5]
    assert log.column(OracleStateChanged, "seq").tolist() == [2, 3, 4]
    assert log.kinds == (ShockApplied, TradeExecuted, OracleStateChanged)


def test_emit_stamps_current_time_and_block(log: EventLog, stamp: Stamp) -> None:
    """Each event carries the time and block current when it was emitted."""
    stamp.t, stamp.block = 12.0, 1
    first = shock(log)
    stamp.t, stamp.block = 30.5, 2
    second = log.emit_batch(OracleStateChanged, 2, oracle="o", state="live")
    assert (log.get(first).t, log.get(first).block) == (12.0, 1)
    assert [(e.t, e.block) for e in log.of_type(OracleStateChanged)] == [(30.5, 2), (30.5, 2)]
    assert log.get(second + 1).t == 30.5


@pytest.mark.parametrize(
    "payload",
    [
        {"shock": "x", "target": "ETH", "size": 0.0},  # duration_s missing
        {"shock": "x", "target": "ETH", "size": 0.0, "duration_s": 0.0, "colour": "red"},  # unknown
        {"shock": "x", "target": "ETH", "size": 0.0, "duration": 0.0},  # misspelt
    ],
)
def test_emit_missing_or_unknown_field_raises_type_error(
    log: EventLog, payload: dict[str, object]
) -> None:
    """Emitting without all of a kind's fields, or with a field it lacks, is a TypeError."""
    with pytest.raises(TypeError, match="ShockApplied"):
        log.emit(ShockApplied, **payload)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ShockApplied"):
        log.emit_batch(ShockApplied, 2, **payload)  # type: ignore[arg-type]
    assert len(log) == 0


def test_emit_cause_not_yet_happened_raises_value_error(log: EventLog) -> None:
    """A cause must name an event already in the log: its own seq or later is rejected."""
    shock(log)  # seq 0
    with pytest.raises(ValueError, match="not happened"):
        trade(log, cause=1)  # would be its own seq
    with pytest.raises(ValueError, match="not happened"):
        trade(log, cause=7)
    with pytest.raises(ValueError, match="not happened"):
        liquidations(log, cause=np.array([0, 0, 1, 0]))  # 1 is the batch's own first seq
    assert len(log) == 1


def test_emit_batch_wrong_column_length_raises_value_error(log: EventLog) -> None:
    """An array column must have exactly `count` values."""
    with pytest.raises(ValueError, match="expected 3 values"):
        log.emit_batch(BadDebtRealized, 3, **BAD_DEBT, account=np.array([1, 2]), amount_usd=1.0)
    assert len(log) == 0


# Regression test, bug fixed in 4f6da39: eventlog.py EventLog.emit_batch named its size parameter
# `count`, which clashed with the `count` field of PositionsBecameLiquidatable,
# LiquidationsFailed, LiquidationsDeclined and TransactionsDelayed, so those kinds could not be
# batched
def test_emit_batch_kind_with_count_field_round_trips(log: EventLog) -> None:
    """A kind whose payload has a field called `count` can be emitted as a batch like any other."""
    first = log.emit_batch(
        PositionsBecameLiquidatable, 2, venue="aave", count=np.array([3, 4]), debt_usd=10.0
    )
    assert first == 0
    assert log.column(PositionsBecameLiquidatable, "count").tolist() == [3, 4]


# Regression test, bug fixed in 4f6da39: eventlog.py EventLog.emit took the seq (self._next_seq +=
# 1) before encoding string fields, so an emit rejected with TypeError left a hole in the seq
# numbering
def test_emit_rejected_string_value_consumes_no_seq(log: EventLog) -> None:
    """An emit that raises leaves the log as it was: the next event gets the next seq."""
    with pytest.raises(TypeError):
        shock(log, shock=123)
    assert len(log) == 0
    assert shock(log) == 0


# Regression test, bug fixed in 4f6da39: eventlog.py EventLog.emit/emit_batch checked only cause <
# next seq, so a cause below ROOT, or a cause_span reaching events not yet logged (or < 1), was
# stored
@pytest.mark.parametrize(
    ("cause", "cause_span"),
    [
        (-2, 1),  # neither ROOT nor an event
        (0, 3),  # causes 0..2, but only event 0 exists
        (0, 0),  # a non-root event with no causes
    ],
)
def test_emit_cause_range_outside_logged_events_raises_value_error(
    log: EventLog, cause: int, cause_span: int
) -> None:
    """Every seq in cause .. cause + cause_span - 1 must be an event already logged."""
    shock(log)  # seq 0, the only event
    with pytest.raises(ValueError, match="TradeExecuted"):
        trade(log, cause=cause, cause_span=cause_span)


# -- columnar round trips -----------------------------------------------------------------------


def liq_row(i: int) -> dict[str, object]:
    """Row i of the LIQ batch as plain Python values."""
    return {
        k: (v[i].item() if hasattr(v[i], "item") else v[i]) if isinstance(v, np.ndarray) else v
        for k, v in LIQ.items()
    }


def test_emit_batch_scalar_and_array_columns_round_trip(log: EventLog, stamp: Stamp) -> None:
    """Batch scalar columns read back broadcast, array columns element-wise, in every reader."""
    stamp.t, stamp.block = 600.0, 50
    root = shock(log)
    first = liquidations(log, cause=root)
    n = 4
    base = {"t": 600.0, "block": 50, "cause": root, "cause_span": 1}
    expected = [{"seq": first + i, **base, **liq_row(i)} for i in range(n)]

    for name in LIQ:
        assert log.column(LiquidationExecuted, name).tolist() == [row[name] for row in expected]
    assert log.column(LiquidationExecuted, "seq").tolist() == [1, 2, 3, 4]

    frame = log.frame(LiquidationExecuted)
    categorical = frame.select_dtypes("category").columns
    assert set(categorical) == {"venue", "liquidator", "collateral_asset", "debt_asset"}
    assert frame.astype(dict.fromkeys(categorical, object)).to_dict("records") == expected

    assert [dataclasses.asdict(e) for e in log.of_type(LiquidationExecuted)] == expected
    assert [dataclasses.asdict(log.get(first + i)) for i in range(n)] == expected
    assert dataclasses.asdict(log.get(root)) == {
        "seq": 0, "t": 600.0, "block": 50, "cause": ROOT, "cause_span": 0,
        "shock": "price_jump", "target": "ETH", "size": -0.2, "duration_s": 300.0,
    }  # fmt: skip


def test_frame_string_fields_are_categoricals_decoding_to_inputs(log: EventLog) -> None:
    """String fields come back as categoricals of the strings emitted, in log order."""
    log.emit(OracleStateChanged, oracle="usdc-usd", state="live")
    log.emit_batch(
        OracleStateChanged,
        3,
        oracle=np.array(["eth-usd", "btc-usd", "eth-usd"], dtype=object),
        state="outage",
    )
    log.emit(OracleStateChanged, oracle="aaa-usd", state="frozen")  # sorts first, appears last
    frame = log.frame(OracleStateChanged)
    assert isinstance(frame["oracle"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["state"].dtype, pd.CategoricalDtype)
    assert frame["oracle"].astype(str).tolist() == [
        "usdc-usd",
        "eth-usd",
        "btc-usd",
        "eth-usd",
        "aaa-usd",
    ]
    assert frame["state"].astype(str).tolist() == ["live", "outage", "outage", "outage", "frozen"]
    got = [getattr(log.get(s), "oracle") for s in range(5)]  # noqa: B009 - typed as Event
    assert got == ["usdc-usd", "eth-usd", "btc-usd", "eth-usd", "aaa-usd"]
    codes, strings = log.codes(OracleStateChanged, "oracle")
    assert [strings[c] for c in codes] == ["usdc-usd", "eth-usd", "btc-usd", "eth-usd", "aaa-usd"]


def test_frame_kind_never_logged_is_empty_with_all_columns(log: EventLog) -> None:
    """A kind with no events gives an empty frame that still has every field as a column."""
    frame = log.frame(TradeExecuted)
    assert len(frame) == 0
    assert list(frame.columns) == [
        "seq", "t", "block", "cause", "cause_span",
        "venue", "asset", "trader", "quantity", "notional_usd", "price_before", "price_after",
    ]  # fmt: skip
    assert log.count(TradeExecuted) == 0
    assert log.total(TradeExecuted, "notional_usd") == 0.0


def test_get_unknown_seq_raises_key_error(log: EventLog) -> None:
    """Asking for a seq the log does not hold is a KeyError."""
    shock(log)
    with pytest.raises(KeyError):
        log.get(1)


# -- totals -------------------------------------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("one"), st.floats(0, 1e9), st.integers(0, 10**6)),
        st.tuples(st.just("scalar"), st.floats(0, 1e9), st.integers(0, 10**6), st.integers(1, 50)),
        st.tuples(
            st.just("array"),
            st.lists(st.tuples(st.floats(0, 1e9), st.integers(0, 10**6)), min_size=1, max_size=20),
        ),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_total_equals_sum_of_column_and_of_inputs(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    """total() equals the sum of the column and of the values emitted, however batched."""
    log = EventLog(now=lambda: 0.0, block=lambda: 0)
    emitted_usd: list[float] = []
    emitted_account: list[int] = []
    for op in ops:
        if op[0] == "one":
            _, usd, account = op
            log.emit(BadDebtRealized, **BAD_DEBT, account=account, amount_usd=usd)
            emitted_usd.append(usd)
            emitted_account.append(account)
        elif op[0] == "scalar":  # one value stored once for n events
            _, usd, account, n = op
            log.emit_batch(BadDebtRealized, n, **BAD_DEBT, account=account, amount_usd=usd)
            emitted_usd += [usd] * n
            emitted_account += [account] * n
        else:
            values = op[1]
            log.emit_batch(
                BadDebtRealized,
                len(values),
                **BAD_DEBT,
                account=np.array([a for _, a in values]),
                amount_usd=np.array([u for u, _ in values]),
            )
            emitted_usd += [u for u, _ in values]
            emitted_account += [a for _, a in values]
    total_usd = log.total(BadDebtRealized, "amount_usd")
    assert total_usd == pytest.approx(math.fsum(emitted_usd), rel=1e-12, abs=1e-6)
    assert total_usd == pytest.approx(
        float(log.column(BadDebtRealized, "amount_usd").sum()), rel=1e-12, abs=1e-6
    )
    assert log.total(BadDebtRealized, "account") == sum(emitted_account)
    assert log.total(BadDebtRealized, "cause") == ROOT * len(emitted_account)


# Regression test, bug fixed in 4f6da39: eventlog.py EventLog.total multiplied a 0-d column by the
# chunk size, but a batch's 0-d seq is the first of consecutive numbers, not a shared value
def test_total_seq_of_batch_equals_sum_of_column(log: EventLog) -> None:
    """total() of seq equals the sum of the seq column, also for a batch (0 + 1 + 2 = 3)."""
    log.emit_batch(OracleStateChanged, 3, oracle="o", state="live")
    assert log.total(OracleStateChanged, "seq") == 0 + 1 + 2


# -- causes -------------------------------------------------------------------------------------


def test_cause_chain_single_and_batch_events_back_to_root(log: EventLog) -> None:
    """cause_chain follows the first-named cause through single and batch events to a ROOT event."""
    root = shock(log)  # 0
    update = log.emit(
        OracleUpdated,
        cause=root,
        oracle="eth-usd",
        asset="ETH",
        answer=1_600.0,
        previous=2_000.0,
        round_id=2,
        observed_at=0.0,
        reason="deviation",
    )  # 1
    liqs = liquidations(log, cause=update)  # 2..5
    sale = trade(log, cause=liqs, cause_span=4)  # 6, caused by the whole batch
    second = liquidations(log, cause=np.array([sale, sale, liqs + 1, ROOT]), cause_span=1)  # 7..10

    assert [e.seq for e in log.cause_chain(sale)] == [6, 2, 1, 0]
    assert [e.seq for e in log.cause_chain(liqs + 3)] == [5, 1, 0]
    assert [e.seq for e in log.cause_chain(second + 2)] == [9, 3, 1, 0]
    assert [e.seq for e in log.cause_chain(second + 3)] == [10]
    assert log.root_of(sale).seq == root
    assert log.get(sale).causes == range(2, 6)


def test_cause_span_root_is_empty_range_and_span_names_consecutive_causes(log: EventLog) -> None:
    """A root's causes are empty whatever its span; else they are cause .. cause+span-1."""
    a = log.emit(OracleStateChanged, cause=ROOT, cause_span=5, oracle="o", state="outage")
    for _ in range(3):
        log.emit(OracleStateChanged, cause=a, oracle="o", state="live")
    b = log.emit(OracleStateChanged, cause=1, cause_span=3, oracle="o", state="live")
    first = log.emit_batch(
        OracleStateChanged,
        3,
        cause=np.array([ROOT, 0, 2]),
        cause_span=np.array([4, 2, 1]),
        oracle="o",
        state="x",
    )
    scalar_root = log.emit_batch(
        OracleStateChanged, 2, cause=ROOT, cause_span=3, oracle="o", state="x"
    )

    assert log.get(a).causes == range(0)
    assert log.get(a).cause_span == 0
    assert log.get(b).causes == range(1, 4)
    assert [log.get(first + i).causes for i in range(3)] == [range(0), range(2), range(2, 3)]
    assert [log.get(scalar_root + i).cause_span for i in range(2)] == [0, 0]


# -- JSON Lines ---------------------------------------------------------------------------------


def build_mixed_log() -> EventLog:
    stamp = Stamp()
    log = EventLog(now=lambda: stamp.t, block=lambda: stamp.block)
    root = shock(log)
    stamp.t, stamp.block = 12.0, 1
    trade(log, cause=root)
    liqs = liquidations(log, cause=root)
    stamp.t, stamp.block = 24.0, 2
    log.emit(OracleStateChanged, cause=liqs, cause_span=4, oracle="eth-usd", state="frozen")
    shock(log, target="BTC", size=float("nan"))
    trade(log, quantity=2.5)
    return log


def test_to_jsonl_rows_in_seq_order_with_sorted_keys(tmp_path: Path) -> None:
    """Every event is one JSON line, lines in seq order across kinds, keys sorted, with its kind."""
    log = build_mixed_log()
    path = log.to_jsonl(tmp_path / "events.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["seq"] for r in rows] == list(range(len(log)))
    assert [r["kind"] for r in rows] == [
        "ShockApplied", "TradeExecuted", *["LiquidationExecuted"] * 4,
        "OracleStateChanged", "ShockApplied", "TradeExecuted",
    ]  # fmt: skip
    for row in rows:  # json.loads keeps the file's key order
        assert list(row) == sorted(row)
    assert rows[4]["collateral_asset"] == "WBTC"  # batch row 2 is seq 4
    assert rows[4]["account"] == 12
    assert math.isnan(rows[7]["size"])
    assert not (tmp_path / "events.jsonl.tmp").exists()


def test_to_jsonl_two_logs_built_the_same_way_are_byte_identical(tmp_path: Path) -> None:
    """Two logs built by the same calls write the same bytes."""
    a = build_mixed_log().to_jsonl(tmp_path / "a.jsonl").read_bytes()
    b = build_mixed_log().to_jsonl(tmp_path / "b.jsonl").read_bytes()
    assert a == b
    assert a.count(b"\n") == 9


def test_summary_counts_events_per_kind(log: EventLog) -> None:
    """summary() counts the events of each kind that occurred."""
    shock(log)
    liquidations(log)
    trade(log)
    assert dict(log.summary()) == {"ShockApplied": 1, "LiquidationExecuted": 4, "TradeExecuted": 1}


def test_emit_batch_shared_string_codes_and_array_columns_read_back_per_batch(
    log: EventLog,
) -> None:
    """Batches repeating a string share its code, yet each reads back its own strings and
    arrays: three batches naming two venues decode to the venues emitted, in order."""
    venues = ["aave", "spark", "aave"]
    repaid = [np.array([1.0, 2.0, 3.0, 4.0]) * (k + 1) for k in range(3)]
    for venue, amounts in zip(venues, repaid, strict=True):
        log.emit_batch(LiquidationExecuted, 4, **{**LIQ, "venue": venue, "debt_repaid": amounts})
    assert log.column(LiquidationExecuted, "venue").tolist() == [v for v in venues for _ in "abcd"]
    assert log.column(LiquidationExecuted, "debt_repaid").tolist() == [
        1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0, 3.0, 6.0, 9.0, 12.0,
    ]  # fmt: skip
    codes, strings = log.codes(LiquidationExecuted, "venue")
    assert [strings[c] for c in codes.tolist()] == [v for v in venues for _ in "abcd"]


def test_emit_batch_array_column_of_other_dtype_or_length_is_converted_or_rejected(
    log: EventLog,
) -> None:
    """A float column given as ints is stored as floats; one of the wrong length raises."""
    log.emit_batch(LiquidationExecuted, 4, **{**LIQ, "debt_repaid": np.array([1, 2, 3, 4])})
    column = log.column(LiquidationExecuted, "debt_repaid")
    assert column.dtype == np.float64
    assert column.tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="expected 4 values"):
        log.emit_batch(LiquidationExecuted, 4, **{**LIQ, "debt_repaid": np.zeros(3)})
