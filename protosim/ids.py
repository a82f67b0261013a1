"""Identifier types: plain strings with a name, so signatures say what they expect."""

from __future__ import annotations

from typing import NewType

AssetId = NewType("AssetId", str)
VenueId = NewType("VenueId", str)
OracleId = NewType("OracleId", str)
ChainId = NewType("ChainId", str)
AgentId = NewType("AgentId", str)
MarketVenueId = NewType("MarketVenueId", str)
"""A trading venue of the `Market` (a CEX book or an AMM pool), where trades move prices."""

SimTime = float
"""Simulated time in seconds since the scenario's start."""

BlockNumber = int
