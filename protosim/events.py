"""Domain events: frozen, past-tense records, each naming the event that caused it.

Every event carries ``seq`` (its place in the run's log), ``t`` (simulated seconds), ``block``
(the block of the chain that was current when it happened; 0 before the first block) and
``cause``: the ``seq`` of the event that triggered it, or ``-1`` for a root (a scheduled shock,
the exogenous price path). An event produced by a batch (a keeper selling the collateral of
several liquidations in one trade) names the contiguous range ``cause .. cause + cause_span - 1``.
The chain of causes is what contagion analysis walks.

The engine core defines the event kinds every venue and oracle shares, so analysis code can read
any venue's liquidations the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = -1
"""The ``cause`` of an event nothing in the run triggered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every event has."""

    seq: int
    t: float
    block: int
    cause: int
    cause_span: int

    @property
    def causes(self) -> range:
        """Sequence numbers of the events that caused this one (empty for a root)."""
        if self.cause == ROOT:
            return range(0)
        return range(self.cause, self.cause + self.cause_span)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShockApplied(Event):
    """A scheduled disturbance from the scenario took effect."""

    shock: str
    """Kind of shock, such as ``price_jump`` or ``oracle_outage``."""
    target: str
    """What it hit: an asset, an oracle, a chain or a venue id."""
    size: float
    """Relative size where it has one (``-0.25`` for a 25% fall), else 0."""
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeExecuted(Event):
    """A trade filled on a market venue and moved its price."""

    venue: str
    asset: str
    trader: str
    quantity: float
    """Signed quantity of the asset bought (+) or sold (-)."""
    notional_usd: float
    """USD paid (buy) or received (sell)."""
    price_before: float
    price_after: float


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleUpdated(Event):
    """An oracle's on-chain answer changed (a new round landed)."""

    oracle: str
    asset: str
    answer: float
    """The new answer in USD."""
    previous: float
    round_id: int
    observed_at: float
    """When the off-chain node observed the price it published."""
    reason: str
    """``deviation``, ``heartbeat`` or ``frozen`` (heartbeat round repeating a frozen answer)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleRoundRejected(Event):
    """An oracle round was not accepted on chain; the previous answer stands."""

    oracle: str
    asset: str
    observed: float
    reason: str
    """``below_min_answer`` or ``above_max_answer``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleStateChanged(Event):
    """An oracle stopped updating, froze, or resumed."""

    oracle: str
    state: str
    """``outage``, ``frozen`` or ``live``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionsBecameLiquidatable(Event):
    """A risk check found positions whose health fell below the liquidation line."""

    venue: str
    count: int
    debt_usd: float
    """Total debt of the positions found, at the oracle prices of the check."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterChanged(Event):
    """A venue took a new value of one of its parameters (a governance change)."""

    venue: str
    parameter: str
    """Key path inside the venue's params (``reserves.CRV.liquidation_threshold_bps``)."""
    before: str
    after: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationExecuted(Event):
    """A liquidation was included and applied by a venue."""

    venue: str
    account: int
    liquidator: str
    collateral_asset: str
    debt_asset: str
    debt_repaid: float
    """Debt tokens repaid by the liquidator."""
    collateral_seized: float
    """Collateral tokens that left the account (to the liquidator plus the protocol fee)."""
    protocol_fee: float
    """Collateral tokens of the seized amount that went to the protocol's treasury."""
    debt_repaid_usd: float
    collateral_seized_usd: float
    health_before: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationsFailed(Event):
    """Liquidation attempts of one transaction that the venue rejected (a lost race, dust)."""

    venue: str
    liquidator: str
    count: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationsDeclined(Event):
    """A keeper saw liquidatable positions and chose not to act (unprofitable, out of capital)."""

    venue: str
    keeper: str
    count: int
    reason: str
    debt_usd: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BadDebtRealized(Event):
    """Debt was left without collateral: written to a deficit, a reserve, or left on the account."""

    venue: str
    account: int
    asset: str
    amount: float
    """Debt tokens."""
    amount_usd: float
    treatment: str
    """``deficit`` (Aave v3.3 burns it into the reserve deficit) or ``residual`` (left owed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainStateChanged(Event):
    """A chain's sequencer stopped producing blocks (``down``) or came back (``up``)."""

    chain: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleGuardTriggered(Event):
    """A venue's price guard changed what it does with an oracle's answer for an asset."""

    venue: str
    asset: str
    oracle: str
    condition: str
    """``stale``, ``invalid`` (zero or negative), ``sequencer_grace`` or ``ok``."""
    action: str
    """``pause`` (liquidations involving the asset revert), ``fallback`` or ``use``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionsDelayed(Event):
    """Pending transactions did not fit a block (gas limit) or bid below the base fee."""

    chain: str
    count: int
    reason: str


EVENT_KINDS: tuple[type[Event], ...] = (
    ShockApplied,
    TradeExecuted,
    OracleUpdated,
    OracleRoundRejected,
    OracleStateChanged,
    PositionsBecameLiquidatable,
    LiquidationExecuted,
    LiquidationsFailed,
    LiquidationsDeclined,
    BadDebtRealized,
    TransactionsDelayed,
    ChainStateChanged,
    OracleGuardTriggered,
    ParameterChanged,
)
