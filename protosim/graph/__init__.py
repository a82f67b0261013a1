"""Exposure and contagion graphs."""
