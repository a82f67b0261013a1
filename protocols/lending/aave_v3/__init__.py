"""Aave v3 lending pool: reference integer math and vectorized liquidation kernels."""
