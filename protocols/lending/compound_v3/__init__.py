"""Compound v3 (Comet): reference integer math of absorb, buyCollateral, indices and rates."""
