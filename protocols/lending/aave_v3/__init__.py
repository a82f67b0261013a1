"""Aave v3 lending pool: reference integer math and vectorized liquidation kernels."""

from protosim.protocols.lending.aave_v3.errors import AaveReverted

__all__ = ["AaveReverted"]
