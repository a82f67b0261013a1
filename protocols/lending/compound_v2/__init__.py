"""Compound v2 (Comptroller and cTokens): reference integer math, vectorized kernels and the
``lending.compound_v2`` venue.
"""
