"""Tests of protosim.blocks: block times, phase order, transaction inclusion, gas and congestion.

Every expectation is worked from the rules in DESIGN.md "Time" and the module docstring: blocks
at ``k · block_time_s``; inside a block the phases MARKET < ORACLE < RISK < KEEPER < SETTLE <
OBSERVE, the included transactions of a phase before its handlers; inclusion by (priority fee
desc, submission order asc) while the block's gas lasts; congestion as a base-fee multiplier plus
background demand that takes ``background_gas_share`` of the block at
``background_priority_fee_gwei``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.blocks import Chain, ChainParams, Tx
from protosim.clock import Clock, Phase
from protosim.eventlog import EventLog
from protosim.events import ROOT, ShockApplied, TransactionsDelayed

GAS_LIMIT = 30_000_000
BLOCK_S = 12.0


@dataclass
class Rig:
    """A chain on its own clock with an event log, and a record of what executed when."""

    clock: Clock
    chain: Chain
    log: EventLog
    executed: list[tuple[int, str, int, int]] = field(
        default_factory=list
    )  # block, name, start, stop

    def tx(
        self,
        name: str,
        *,
        phase: Phase = Phase.KEEPER,
        gas_per_item: int = 100_000,
        items: int = 1,
        priority_fee_gwei: float = 1.0,
        max_fee_gwei: float = float("inf"),
    ) -> Tx:
        def execute(start: int, stop: int) -> None:
            self.executed.append((self.chain.block, name, start, stop))

        return Tx(
            sender=name,
            phase=phase,
            gas_per_item=gas_per_item,
            items=items,
            priority_fee_gwei=priority_fee_gwei,
            max_fee_gwei=max_fee_gwei,
            execute=execute,
        )

    def at(self, t: float, action: Callable[[], None]) -> None:
        self.clock.call_at(t, f"test@{t}", action)

    def run_blocks(self, n: int) -> None:
        # Stop half a block after block n, so block n is produced and block n + 1 is not.
        self.clock.env.run(until=(n + 0.5) * self.chain.params.block_time_s)

    def names(self, block: int | None = None) -> list[str]:
        return [name for b, name, _, _ in self.executed if block is None or b == block]

    def delayed(self) -> list[tuple[int, int, str, int]]:
        """(block, count, reason, cause) of every TransactionsDelayed event."""
        return [
            (e.block, e.count, e.reason, e.cause) for e in self.log.of_type(TransactionsDelayed)
        ]


def make_rig(
    block_time_s: float = BLOCK_S, gas_limit: int = GAS_LIMIT, base_fee_gwei: float = 20.0
) -> Rig:
    clock = Clock()
    chain = Chain(
        clock,
        ChainParams(
            chain_id="testnet",
            block_time_s=block_time_s,
            gas_limit=gas_limit,
            base_fee_gwei=base_fee_gwei,
        ),
    )
    log = EventLog(now=lambda: clock.now, block=lambda: chain.block)
    chain.log = log
    clock.start("chain.testnet", chain.run())
    return Rig(clock, chain, log)


@pytest.fixture
def rig() -> Rig:
    return make_rig()


# -- block times ------------------------------------------------------------------------------


@pytest.mark.parametrize("block_time_s", [12.0, 2.0, 0.25, 0.4])
def test_chain_blocks_produced_at_multiples_of_block_time(block_time_s: float) -> None:
    """Block k is produced at t = k · block_time_s, the first at t = block_time_s."""
    rig = make_rig(block_time_s=block_time_s)
    seen: list[tuple[int, float]] = []
    rig.chain.on_phase(
        Phase.OBSERVE, lambda block: seen.append((block, rig.clock.now)), every_block=True
    )
    rig.run_blocks(50)
    assert [b for b, _ in seen] == list(range(1, 51))
    for k, t in seen:
        assert t == pytest.approx(k * block_time_s, rel=1e-12, abs=0.0)


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"block_time_s": 0.0}, "block_time_s"),
        ({"block_time_s": -12.0}, "block_time_s"),
        ({"gas_limit": 0}, "gas_limit"),
    ],
)
def test_chainparams_nonpositive_values_raise_value_error(
    kwargs: dict[str, float], field_name: str
) -> None:
    """A block time or gas limit that is not > 0 is rejected, naming the field."""
    with pytest.raises(ValueError, match=field_name):
        ChainParams(chain_id="x", **kwargs)  # type: ignore[arg-type]


def test_chain_submit_negative_latency_raises_value_error(rig: Rig) -> None:
    """A transaction cannot arrive before it is sent."""
    with pytest.raises(ValueError, match="latency_s"):
        rig.chain.submit(rig.tx("a"), latency_s=-1.0)


# -- phases -----------------------------------------------------------------------------------


def test_block_phases_run_in_order_with_transactions_before_handlers(rig: Rig) -> None:
    """Phases run MARKET..OBSERVE; a phase's transactions execute before its handlers."""
    order: list[str] = []

    def record(label: str, *args: int) -> None:
        order.append(label)

    # Registered in scrambled phase order, so only the phase rule can sort them.
    for phase in (
        Phase.OBSERVE,
        Phase.KEEPER,
        Phase.MARKET,
        Phase.SETTLE,
        Phase.RISK,
        Phase.ORACLE,
    ):
        rig.chain.on_phase(phase, partial(record, f"handler:{phase.name}"), every_block=True)
    for phase in (Phase.KEEPER, Phase.ORACLE):  # the keeper tx is sent first and bids more
        tx = Tx(
            sender=phase.name,
            phase=phase,
            gas_per_item=21_000,
            priority_fee_gwei=10.0 if phase == Phase.KEEPER else 1.0,
            execute=partial(record, f"tx:{phase.name}"),
        )
        rig.chain.submit(tx)
    rig.run_blocks(1)
    assert order == [
        "handler:MARKET",
        "tx:ORACLE",
        "handler:ORACLE",
        "handler:RISK",
        "tx:KEEPER",
        "handler:KEEPER",
        "handler:SETTLE",
        "handler:OBSERVE",
    ]


def test_phase_handlers_equal_phase_run_by_rank_then_registration(rig: Rig) -> None:
    """Handlers of one phase run by rank ascending, equal ranks in registration order."""
    order: list[str] = []

    def record(label: str, block: int) -> None:
        order.append(label)

    for name, rank in [("a", 10), ("b", 0), ("c", 10), ("d", 0), ("e", -5)]:
        rig.chain.on_phase(Phase.RISK, partial(record, name), rank=rank, every_block=True)
    rig.run_blocks(2)
    assert order == ["e", "b", "d", "a", "c"] * 2


def test_phase_handler_receives_current_block_number(rig: Rig) -> None:
    """A handler is called with the number of the block being produced."""
    calls: list[int] = []
    rig.chain.on_phase(Phase.SETTLE, calls.append, every_block=True)
    rig.run_blocks(3)
    assert calls == [1, 2, 3]


# -- inclusion order and arrival --------------------------------------------------------------


def test_inclusion_order_priority_fee_desc_then_submission_asc(rig: Rig) -> None:
    """Included transactions execute by priority fee descending, ties in submission order."""
    for name, fee in [("A", 1.0), ("B", 5.0), ("C", 5.0), ("D", 3.0), ("E", 1.0)]:
        rig.chain.submit(rig.tx(name, priority_fee_gwei=fee))
    rig.run_blocks(1)
    assert rig.names(1) == ["B", "C", "D", "A", "E"]


@settings(max_examples=40, deadline=None)
@given(fees=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 30.0]), min_size=1, max_size=12))
def test_inclusion_order_any_fees_sorted_by_fee_then_submission(fees: list[float]) -> None:
    """For bids that fit one block, execution order is sorted by (-fee, submission index)."""
    rig = make_rig()
    for i, fee in enumerate(fees):
        rig.chain.submit(rig.tx(str(i), priority_fee_gwei=fee))
    rig.run_blocks(1)
    expected = [str(i) for i, _ in sorted(enumerate(fees), key=lambda item: (-item[1], item[0]))]
    assert rig.names(1) == expected


@pytest.mark.parametrize(
    ("latency_s", "expected_block"),
    [
        (0.0, 1),  # arrives at 0, first block is at 12
        (11.999, 1),  # arrives before block 1 at 12
        (12.0, 2),  # arrives at block 1's own instant: waits for block 2 (module docstring)
        (12.5, 2),  # arrives after block 1: waits for block 2 at 24
        (24.0, 3),
        (24.001, 3),
    ],
)
def test_tx_arriving_at_or_after_block_time_waits_for_next_block(
    rig: Rig, latency_s: float, expected_block: int
) -> None:
    """A block at time t includes only transactions that arrived strictly before t."""
    rig.chain.submit(rig.tx("a"), latency_s=latency_s)
    rig.run_blocks(3)
    assert rig.executed == [(expected_block, "a", 0, 1)]


def test_tx_submitted_during_a_block_goes_in_the_next_block(rig: Rig) -> None:
    """A transaction sent by a phase handler of block k (latency 0) is included in block k + 1."""
    sent = []

    def send(block: int) -> None:
        if block == 1:
            rig.chain.submit(rig.tx("late", phase=Phase.KEEPER))
            sent.append(block)

    rig.chain.on_phase(Phase.RISK, send, every_block=True)  # RISK runs before KEEPER
    rig.run_blocks(2)
    assert sent == [1]
    assert rig.executed == [(2, "late", 0, 1)]


# -- gas limit ----------------------------------------------------------------------------------


def test_multi_item_tx_split_across_blocks_executes_each_item_once_in_order(rig: Rig) -> None:
    """75 items of 1M gas fill 30M-gas blocks 30, 30, 15 items: each item once, in order."""
    rig.chain.submit(rig.tx("batch", gas_per_item=1_000_000, items=75))
    rig.run_blocks(4)
    # 30_000_000 // 1_000_000 = 30 items per block; 75 = 30 + 30 + 15.
    assert rig.executed == [(1, "batch", 0, 30), (2, "batch", 30, 60), (3, "batch", 60, 75)]
    # Left over after blocks 1 and 2, one transaction each time.
    assert [(b, n, r) for b, n, r, _ in rig.delayed()] == [
        (1, 1, "gas_limit_or_fee_cap"),
        (2, 1, "gas_limit_or_fee_cap"),
    ]
    assert rig.chain.pending_count == 0


def test_gas_limit_higher_bid_fills_first_lower_bid_gets_remainder(rig: Rig) -> None:
    """The higher bid takes its gas; the lower bid gets what is left, the rest next block."""
    rig.chain.submit(rig.tx("low", gas_per_item=1_000_000, items=20, priority_fee_gwei=1.0))
    rig.chain.submit(rig.tx("high", gas_per_item=1_000_000, items=20, priority_fee_gwei=2.0))
    rig.run_blocks(2)
    # Block 1: high uses 20M, leaving 10M = 10 items of low; block 2: low's other 10.
    assert rig.executed == [(1, "high", 0, 20), (1, "low", 0, 10), (2, "low", 10, 20)]
    assert rig.chain.gas_used_last_block == 10 * 1_000_000


@settings(max_examples=40, deadline=None)
@given(
    txs=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=40),  # items
            st.integers(min_value=1, max_value=9_000_000),  # gas per item
            st.sampled_from([1.0, 2.0, 3.0]),  # priority fee
        ),
        min_size=1,
        max_size=6,
    )
)
def test_gas_limit_any_batches_conserve_items_and_respect_block_gas(
    txs: list[tuple[int, int, float]],
) -> None:
    """Every item of any batches executes once, in order, and no block exceeds its gas."""
    gas_limit = 10_000_000
    rig = make_rig(gas_limit=gas_limit)
    for i, (items, gas, fee) in enumerate(txs):
        rig.chain.submit(rig.tx(str(i), gas_per_item=gas, items=items, priority_fee_gwei=fee))
    # Worst case one item per block per transaction: sum(items) blocks are always enough.
    rig.run_blocks(sum(items for items, _, _ in txs) + 1)
    gas_by_block: dict[int, int] = {}
    for i, (items, gas, _) in enumerate(txs):
        ranges = [(start, stop) for _, name, start, stop in rig.executed if name == str(i)]
        covered = [k for start, stop in ranges for k in range(start, stop)]
        assert covered == list(range(items))
        for b, name, start, stop in rig.executed:
            if name == str(i):
                gas_by_block[b] = gas_by_block.get(b, 0) + (stop - start) * gas
    assert max(gas_by_block.values()) <= gas_limit
    assert rig.chain.pending_count == 0


# -- fees and congestion ------------------------------------------------------------------------


def test_tx_max_fee_below_base_fee_waits_and_logs_delay(rig: Rig) -> None:
    """A max fee below the base fee (20 gwei) waits; TransactionsDelayed is logged each block."""
    rig.chain.submit(rig.tx("capped", max_fee_gwei=15.0))
    rig.chain.submit(rig.tx("ok", max_fee_gwei=25.0))
    rig.run_blocks(3)
    assert rig.names() == ["ok"]
    assert rig.delayed() == [(b, 1, "gas_limit_or_fee_cap", ROOT) for b in (1, 2, 3)]
    assert rig.chain.pending_count == 1


def test_congestion_base_fee_multiplier_ends_after_duration(rig: Rig) -> None:
    """Congestion multiplies the base fee; from start + duration_s on it is back to normal."""
    seen: dict[float, float] = {}

    def probe(t: float) -> None:
        seen[t] = rig.chain.base_fee_gwei

    for t in (4.9, 5.1, 34.9, 35.1, 60.0):
        rig.at(t, partial(probe, t))
    rig.at(
        5.0,
        lambda: rig.chain.congest(
            duration_s=30.0,
            base_fee_multiplier=10.0,
            background_gas_share=0.0,
            background_priority_fee_gwei=0.0,
        ),
    )
    rig.run_blocks(5)
    # Congested over [5, 35): 20 gwei * 10 inside, 20 gwei outside.
    assert seen == {4.9: 20.0, 5.1: 200.0, 34.9: 200.0, 35.1: 20.0, 60.0: 20.0}


def test_congestion_fee_capped_tx_waits_until_congestion_ends(rig: Rig) -> None:
    """A max fee of 100 gwei waits out a 10x base fee (200 gwei), then lands in the next block."""
    cause = rig.log.emit(
        ShockApplied, shock="chain_congestion", target="testnet", size=10.0, duration_s=30.0
    )
    rig.chain.congest(
        duration_s=30.0,
        base_fee_multiplier=10.0,
        background_gas_share=0.0,
        background_priority_fee_gwei=0.0,
        cause=cause,
    )
    rig.chain.submit(rig.tx("keeper", max_fee_gwei=100.0))
    rig.run_blocks(3)
    # Blocks at 12 and 24 are inside [0, 30): 200 > 100, wait. Block 3 at 36 is after it.
    assert rig.executed == [(3, "keeper", 0, 1)]
    assert rig.delayed() == [(1, 1, "congestion", cause), (2, 1, "congestion", cause)]


def test_congestion_low_bid_waits_while_bid_above_background_gets_in(rig: Rig) -> None:
    """Under congestion a bid below the background fee waits; one above it is included."""
    rig.chain.congest(
        duration_s=30.0,
        base_fee_multiplier=1.0,
        background_gas_share=0.9,
        background_priority_fee_gwei=100.0,
    )
    rig.chain.submit(rig.tx("low", gas_per_item=5_000_000, priority_fee_gwei=2.0))
    rig.chain.submit(rig.tx("high", gas_per_item=5_000_000, priority_fee_gwei=150.0))
    rig.run_blocks(3)
    # Background takes 0.9 * 30M = 27M at 100 gwei, leaving 3M < 5M to bids under 100 gwei
    # while congestion lasts (blocks 1 and 2); block 3 at 36 s is after it.
    assert rig.executed == [(1, "high", 0, 1), (3, "low", 0, 1)]
    assert [(b, n, r) for b, n, r, _ in rig.delayed()] == [
        (1, 1, "congestion"),
        (2, 1, "congestion"),
    ]


def test_congestion_low_bid_fits_in_non_background_share(rig: Rig) -> None:
    """A low bid small enough for the gas background demand leaves (3M of 30M) is still included."""
    rig.chain.congest(
        duration_s=30.0,
        base_fee_multiplier=1.0,
        background_gas_share=0.9,
        background_priority_fee_gwei=100.0,
    )
    rig.chain.submit(rig.tx("small", gas_per_item=2_000_000, priority_fee_gwei=2.0))
    rig.run_blocks(1)
    assert rig.executed == [(1, "small", 0, 1)]


# Regression test, bug fixed in 4f6da39: blocks.py Chain._include gave every below-background bid
# its own gas_limit - background room instead of sharing what background demand leaves, so
# transactions plus background exceeded the block gas limit
@pytest.mark.parametrize(
    ("txs", "expected_block_1"),
    [
        # Two 2M-gas low bids: background leaves 30M - 27M = 3M; the first (2M) fits, the
        # second would need 2M of the 1M left, so it waits.
        ([("low-a", 2_000_000, 2.0), ("low-b", 2_000_000, 2.0)], ["low-a"]),
        # A 28M bid above the background fee leaves 2M, all taken by the 27M of background
        # demand bidding 100 gwei, so a 2M low bid waits.
        ([("high", 28_000_000, 150.0), ("low", 2_000_000, 2.0)], ["high"]),
    ],
)
def test_congestion_below_background_bids_share_the_gas_background_leaves(
    rig: Rig, txs: list[tuple[str, int, float]], expected_block_1: list[str]
) -> None:
    """Bids under the background fee share the gas left after higher bids and background demand."""
    rig.chain.congest(
        duration_s=30.0,
        base_fee_multiplier=1.0,
        background_gas_share=0.9,
        background_priority_fee_gwei=100.0,
    )
    for name, gas, fee in txs:
        rig.chain.submit(rig.tx(name, gas_per_item=gas, priority_fee_gwei=fee))
    rig.run_blocks(1)
    assert rig.names(1) == expected_block_1


def test_idle_blocks_are_skipped_but_keep_their_numbers(rig: Rig) -> None:
    """With nothing pending, slots pass unsimulated; the next block still has the number of its
    slot, and a plain handler runs only in blocks that are produced."""
    seen: list[int] = []
    rig.chain.on_phase(Phase.RISK, seen.append)
    rig.clock.call_at(100.0, "late", lambda: rig.chain.submit(rig.tx("late", phase=Phase.KEEPER)))
    rig.run_blocks(20)
    # Submitted at t = 100 with 12 s blocks: included in the first slot after it, t = 108,
    # which is slot 108 / 12 = 9.
    assert rig.executed == [(9, "late", 0, 1)]
    assert seen == [9]


def test_request_block_produces_the_next_slot(rig: Rig) -> None:
    """A handler can ask for the next block although nothing is pending."""
    seen: list[int] = []

    def again(block: int) -> None:
        seen.append(block)
        if block < 3:
            rig.chain.request_block()

    rig.chain.on_phase(Phase.RISK, again)
    rig.chain.request_block()
    rig.run_blocks(10)
    assert seen == [1, 2, 3]
