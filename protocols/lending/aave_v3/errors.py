"""Reverts of the Aave v3 action API."""

from __future__ import annotations

__all__ = ["AaveReverted"]


class AaveReverted(Exception):  # noqa: N818 - named after the on-chain revert
    """A ``supply`` or ``borrow`` the Pool contract would revert.

    Parameters
    ----------
    error : str
        The error's name in aave-dao/aave-v3-origin v3.3.0 ``Errors.sol``, such as
        ``"COLLATERAL_CANNOT_COVER_NEW_BORROW"``, ``"BORROW_CAP_EXCEEDED"``,
        ``"SUPPLY_CAP_EXCEEDED"``, ``"DEBT_CEILING_EXCEEDED"`` or
        ``"INCONSISTENT_EMODE_CATEGORY"``.
    detail : str
        What was checked, for people.
    """

    def __init__(self, error: str, detail: str = "") -> None:
        self.error = error
        self.detail = detail
        super().__init__(f"{error}: {detail}" if detail else error)
