"""Compound v2 (Comptroller and cTokens): reference integer math of liquidations and interest."""
