"""`SimContext`: the one bundle every component is handed (R1: never the engine itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from protosim.blocks import Chain
from protosim.clock import Clock
from protosim.eventlog import EventLog
from protosim.interfaces import Oracle
from protosim.market import Market
from protosim.rng import RngStreams

if TYPE_CHECKING:
    from protosim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class SimContext:
    """Clock, random streams, event log, market, chains, and the components built so far.

    Components are built in scenario order: oracles, then venues, then agents, so a venue
    finds its oracles and an agent its venue here by id.
    """

    scenario: Scenario
    clock: Clock
    rng: RngStreams
    log: EventLog
    market: Market
    chains: dict[str, Chain]
    oracles: dict[str, Oracle] = field(default_factory=dict)
    venues: dict[str, Any] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)

    def chain(self, chain_id: str) -> Chain:
        """Return the chain `chain_id`."""
        try:
            return self.chains[chain_id]
        except KeyError:
            raise KeyError(
                f"unknown chain {chain_id!r}; the scenario has {sorted(self.chains)}"
            ) from None

    def oracle(self, oracle_id: str) -> Oracle:
        """Return the oracle `oracle_id`."""
        try:
            return self.oracles[oracle_id]
        except KeyError:
            raise KeyError(
                f"unknown oracle {oracle_id!r}; the scenario has {sorted(self.oracles)}"
            ) from None

    def venue(self, venue_id: str) -> Any:
        """Return the venue `venue_id`."""
        try:
            return self.venues[venue_id]
        except KeyError:
            raise KeyError(
                f"unknown venue {venue_id!r}; the scenario has {sorted(self.venues)}"
            ) from None
