"""A chain: blocks at a fixed interval, ordered phases, and a transaction queue with gas.

Off-chain actors (oracle nodes, keepers) never change on-chain state directly: they `submit` a
`Tx` that arrives after a latency. A block at time ``t`` can include a transaction that arrived
strictly before ``t``: one arriving at the block's own instant waits for the next block, whatever
order SimPy happens to run the two processes in. Each block includes the arrived transactions
ordered by
``(priority fee desc, submission order asc)`` while they fit the block's gas, then runs the
phases in `Phase` order. In each phase, the included transactions of that phase execute first
(in inclusion order), then the phase handlers registered with `on_phase` (by rank, then
registration order). Congestion is a base-fee multiplier plus background demand that takes a
share of each block's gas at a given priority fee: a transaction bidding less waits.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from protosim.clock import Clock, Phase, ProcessGenerator
from protosim.eventlog import EventLog
from protosim.events import ROOT, ChainStateChanged, TransactionsDelayed

_PHASES = tuple(Phase)  # iterating the enum itself is slow on a path run every block


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainParams:
    """Parameters of one chain."""

    chain_id: str
    block_time_s: float = 12.0
    gas_limit: int = 30_000_000
    base_fee_gwei: float = 20.0
    gas_asset: str = "ETH"

    def __post_init__(self) -> None:
        if self.block_time_s <= 0:
            raise ValueError(f"expected block_time_s > 0, was {self.block_time_s}")
        if self.gas_limit <= 0:
            raise ValueError(f"expected gas_limit > 0, was {self.gas_limit}")


@dataclass(slots=True, kw_only=True)
class Tx:
    """A transaction, or a batch of identical-cost operations that may span several blocks.

    Parameters
    ----------
    sender : str
        Who sent it (an oracle or agent id).
    phase : Phase
        The block phase in which it executes (``ORACLE`` or ``KEEPER``).
    gas_per_item : int
        Gas one item uses.
    items : int
        Number of items. A block includes as many whole items as its remaining gas allows;
        the rest stays queued in the same place.
    priority_fee_gwei, max_fee_gwei : float
        The bid; the transaction waits while the base fee exceeds `max_fee_gwei`.
    execute : callable
        ``execute(start, stop)`` applies items ``start .. stop-1`` when they are included.
    """

    sender: str
    phase: Phase
    gas_per_item: int
    items: int = 1
    priority_fee_gwei: float = 1.0
    max_fee_gwei: float = float("inf")
    execute: Callable[[int, int], None]
    done: int = 0
    arrival_s: float = 0.0
    submit_seq: int = field(default=-1)


@dataclass(slots=True)
class _Congestion:
    until_s: float
    base_fee_multiplier: float
    background_gas_share: float
    background_priority_fee_gwei: float
    cause: int


class Chain:
    """Block production for one chain, with phases and a gas-limited transaction queue.

    Parameters
    ----------
    clock : Clock
        Simulated time.
    params : ChainParams
        Block time, gas limit and base fee.
    """

    def __init__(self, clock: Clock, params: ChainParams) -> None:
        self.clock = clock
        self.params = params
        self.block = 0
        self.log: EventLog | None = None
        self._handlers: dict[Phase, list[tuple[int, int, Callable[[int], None]]]] = {
            phase: [] for phase in Phase
        }
        self._registered = 0
        self._submitted = 0
        self._pending: list[tuple[float, float, int, Tx]] = []  # heap by arrival
        self._arrived: list[Tx] = []
        self._congestion: list[_Congestion] = []
        self.gas_used_last_block = 0
        self._halted_until = 0.0
        self.sequencer_up_since = -math.inf
        """When the sequencer last came back up (-inf if it never went down: a chain that is
        running when the run starts has been up for long, so no grace period applies then)."""
        self._state_listeners: list[Callable[[bool, float, int], None]] = []
        self._slot_s = 0.0
        self._every_block = 0
        self._requested = False
        self._wake_event = clock.env.event()

    # -- registration -------------------------------------------------------------------------

    def on_phase(
        self,
        phase: Phase,
        handler: Callable[[int], None],
        *,
        rank: int = 0,
        every_block: bool = False,
    ) -> None:
        """Call ``handler(block)`` in `phase` of every block produced, after lower ranks.

        Venues register at rank 0 and agents at rank 10, so a keeper sees the risk check of
        the same block. Equal ranks run in registration order. Blocks with nothing to do are
        skipped; a handler that must see every block (one whose decisions change with time
        alone) passes ``every_block=True``, and one that needs just the next block calls
        `request_block`.
        """
        if every_block:
            self._every_block += 1
        self._handlers[phase].append((rank, self._registered, handler))
        self._handlers[phase].sort(key=lambda h: (h[0], h[1]))
        self._registered += 1

    def submit(self, tx: Tx, latency_s: float = 0.0) -> None:
        """Send `tx`; it can be included in the first block strictly after ``now + latency_s``."""
        if latency_s < 0:
            raise ValueError(f"expected latency_s >= 0, was {latency_s}")
        if tx.gas_per_item > self.params.gas_limit:
            raise ValueError(
                f"{tx.sender}: one item needs {tx.gas_per_item} gas, more than the block gas "
                f"limit {self.params.gas_limit} of chain {self.params.chain_id!r}"
            )
        tx.arrival_s = self.clock.now + latency_s
        tx.submit_seq = self._submitted
        self._submitted += 1
        heapq.heappush(self._pending, (tx.arrival_s, 0.0, tx.submit_seq, tx))
        self._wake()

    def congest(
        self,
        *,
        duration_s: float,
        base_fee_multiplier: float,
        background_gas_share: float,
        background_priority_fee_gwei: float,
        cause: int = ROOT,
    ) -> None:
        """Start a congestion episode lasting `duration_s` from now."""
        self._congestion.append(
            _Congestion(
                self.clock.now + duration_s,
                base_fee_multiplier,
                background_gas_share,
                background_priority_fee_gwei,
                cause,
            )
        )

    # -- state --------------------------------------------------------------------------------

    def _active_congestion(self) -> _Congestion | None:
        if not self._congestion:
            return None
        now = self.clock.now
        self._congestion = [c for c in self._congestion if c.until_s > now]
        return self._congestion[-1] if self._congestion else None

    @property
    def base_fee_gwei(self) -> float:
        """The base fee now, including any congestion multiplier."""
        c = self._active_congestion()
        return self.params.base_fee_gwei * (c.base_fee_multiplier if c else 1.0)

    def tx_cost_usd(
        self, gas: float, *, priority_fee_gwei: float, max_fee_gwei: float, gas_price_usd: float
    ) -> float:
        """Return what `gas` units cost now in USD: the EIP-1559 price ``min(base fee + tip,
        max fee)`` in gwei, times `gas_price_usd` (the gas asset's price).

        Examples
        --------
        400,000 gas at a 20 gwei base fee plus a 2 gwei tip, ETH at $3,000: 0.0088 ETH, $26.40.

        >>> from protosim.clock import Clock
        >>> chain = Chain(Clock(), ChainParams(chain_id="c", base_fee_gwei=20.0))
        >>> round(chain.tx_cost_usd(400_000, priority_fee_gwei=2.0, max_fee_gwei=1e9,
        ...                         gas_price_usd=3_000.0), 6)
        26.4
        """
        gwei = min(self.base_fee_gwei + priority_fee_gwei, max_fee_gwei)
        return float(gas * gwei * 1e-9 * gas_price_usd)

    @property
    def pending_count(self) -> int:
        """Transactions submitted and not yet fully included."""
        return len(self._pending) + len(self._arrived)

    # -- block production ---------------------------------------------------------------------

    def on_sequencer_change(self, callback: Callable[[bool, float, int], None]) -> None:
        """Call ``callback(up, at_s, cause)`` when the sequencer goes down or comes back."""
        self._state_listeners.append(callback)

    def halt(self, duration_s: float, *, cause: int = ROOT) -> None:
        """Stop producing blocks for `duration_s` from now (an L2 sequencer outage)."""
        if duration_s <= 0:
            raise ValueError(f"expected duration_s > 0, was {duration_s}")
        was_up = self.sequencer_up
        self._halted_until = max(self._halted_until, self.clock.now + duration_s)
        self._halt_cause = cause
        if was_up:
            if self.log is not None:
                self.log.emit(
                    ChainStateChanged, cause=cause, chain=self.params.chain_id, state="down"
                )
            for callback in self._state_listeners:
                callback(False, self.clock.now, cause)
        # An idle chain must wake to notice the halt (and, later, to come back from it).
        self._wake()

    @property
    def sequencer_up(self) -> bool:
        """Whether blocks are being produced now."""
        return self.clock.now >= self._halted_until

    def request_block(self) -> None:
        """Ask for the next block to be produced even if no transaction is pending."""
        self._requested = True
        self._wake()

    def _wake(self) -> None:
        if not self._wake_event.triggered:
            self._wake_event.succeed()

    def _busy(self) -> bool:
        return bool(self._every_block or self._pending or self._arrived or self._requested)

    @property
    def current_block(self) -> int:
        """The number of the latest block slot at or before now (skipped idle slots count)."""
        # `sequencer_up` inline, with one read of the clock: every logged event asks this.
        now = self.clock.now
        if now < self._halted_until:
            return self.block
        return self.block + int((now - self._slot_s) // self.params.block_time_s)

    def run(self) -> ProcessGenerator:
        """Produce a block every ``block_time_s``, the first one at ``t = block_time_s``; none
        while the chain is halted. The first block after a halt comes at the end of the halt,
        when the sequencer is up again.

        A slot in which nothing can happen (no transaction pending, no handler that must run
        every block, no request) is skipped without simulating it; its number still counts.
        """
        bt = self.params.block_time_s
        while True:
            if not self.sequencer_up:
                yield self.clock.timeout(self._halted_until - self.clock.now)
                if not self.sequencer_up:
                    continue
                self._resume_after_halt()
                self._slot_s = self.clock.now
                self.block += 1
                self._requested = False
                self._produce_block()
                continue
            if not self._busy():
                self._wake_event = self.clock.env.event()
                yield self._wake_event
                # The slots that passed idle count, up to the wake (a halt starts there).
                skipped = int((self.clock.now - self._slot_s) // bt)
                self._slot_s += skipped * bt
                self.block += skipped
                continue
            yield self.clock.timeout(self._slot_s + bt - self.clock.now)
            if not self.sequencer_up:
                continue
            self._slot_s += bt
            self.block += 1
            self._requested = False
            self._produce_block()

    def _resume_after_halt(self) -> None:
        if self.sequencer_up_since >= self._halted_until:
            return
        self.sequencer_up_since = self._halted_until
        if self.log is not None:
            self.log.emit(
                ChainStateChanged,
                cause=self._halt_cause,
                chain=self.params.chain_id,
                state="up",
            )
        for callback in self._state_listeners:
            callback(True, self.sequencer_up_since, self._halt_cause)

    def _include(self) -> list[tuple[Tx, int, int]]:
        now = self.clock.now
        self.gas_used_last_block = 0
        while self._pending and self._pending[0][0] < now:
            self._arrived.append(heapq.heappop(self._pending)[3])
        if not self._arrived:
            return []
        congestion = self._active_congestion()
        base_fee = self.base_fee_gwei
        gas_left = self.params.gas_limit
        background = 0
        if congestion is not None:
            background = int(self.params.gas_limit * congestion.background_gas_share)
        self._arrived.sort(key=lambda tx: (-tx.priority_fee_gwei, tx.submit_seq))
        included: list[tuple[Tx, int, int]] = []
        waiting: list[Tx] = []
        delayed = 0
        background_placed = congestion is None
        background_fee = congestion.background_priority_fee_gwei if congestion else 0.0
        for tx in self._arrived:
            if tx.max_fee_gwei < base_fee:
                waiting.append(tx)
                delayed += 1
                continue
            if not background_placed and tx.priority_fee_gwei < background_fee:
                # Background demand outbids every transaction from here on: it takes its share
                # of the block before they do.
                gas_left -= min(background, gas_left)
                background_placed = True
            if tx.gas_per_item:
                fit = min(tx.items - tx.done, gas_left // tx.gas_per_item)
            else:
                fit = tx.items - tx.done
            if fit > 0:
                included.append((tx, tx.done, tx.done + fit))
                tx.done += fit
                gas_left -= fit * tx.gas_per_item
            if tx.done < tx.items:
                waiting.append(tx)
                delayed += 1
        self._arrived = waiting
        if not background_placed:
            gas_left -= min(background, gas_left)
        self.gas_used_last_block = self.params.gas_limit - gas_left
        if delayed and self.log is not None:
            reason = "congestion" if congestion is not None else "gas_limit_or_fee_cap"
            self.log.emit(
                TransactionsDelayed,
                cause=congestion.cause if congestion is not None else ROOT,
                chain=self.params.chain_id,
                count=delayed,
                reason=reason,
            )
        return included

    def _produce_block(self) -> None:
        included = self._include()
        block = self.block
        for phase in _PHASES:
            if included:
                for tx, start, stop in included:
                    if tx.phase == phase:
                        tx.execute(start, stop)
            for _, _, handler in self._handlers[phase]:
                handler(block)
