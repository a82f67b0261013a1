"""Perpetual futures venues: margin, liquidation, insurance funds and auto-deleveraging."""
