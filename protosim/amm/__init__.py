"""Exact AMM liquidity math: Curve StableSwap and Uniswap v3, in integers and as impact models."""
