"""Overcollateralised lending venues."""
