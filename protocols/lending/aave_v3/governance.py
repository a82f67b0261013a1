"""Governance changes to a running Aave v3 market (``parameter_change`` shocks).

Aave's risk stewards and governance change reserve parameters through ``PoolConfigurator``
(``configureReserveAsCollateral``, ``setReserveBorrowing``, ``setSupplyCap``,
``setBorrowCap``, ``setDebtCeiling``, ``setReserveInterestRateData``, ``setEModeCategory``...),
and the pool is upgraded between rule versions (v3.3's liquidation rules). A change takes
effect at once: accounts whose health factor the new thresholds put below 1 become
liquidatable in the next block, which is why threshold cuts are made in small steps
(mechanics §1.1). What may change here: every risk parameter of a reserve and of an e-mode
category, rate strategies, and the liquidation rules. What may not: the oracle wiring, the
reserve and category sets, the populations and the venue's checking settings, which describe
the market's set-up rather than parameters governance sets.
"""

from __future__ import annotations

from protosim.protocols.lending.aave_v3.params import AaveV3Params
from protosim.protocols.lending.governance import refuse_fixed, refuse_new_keys

__all__ = ["CHANGEABLE", "check_parameters"]

CHANGEABLE = ("reserves", "emode_categories", "rules")
"""Top-level parameters a change may touch."""
_RESERVE_WIRING = ("oracle", "fallback_oracle", "max_oracle_age_s", "passive_supply")


def check_parameters(old: AaveV3Params, new: AaveV3Params) -> None:
    """Raise KeyError (its message starts with the key path) if `new` changes anything but
    what governance sets in a running market.

    >>> from protosim.protocols.lending.aave_v3.params import ReserveParams
    >>> old = AaveV3Params(chain="c", reserves={"ETH": ReserveParams(oracle="eth")})
    >>> check_parameters(old, old.model_copy(update={"rules": "v3.0"}))
    >>> wired = {"ETH": ReserveParams(oracle="other")}
    >>> try:
    ...     check_parameters(old, old.model_copy(update={"reserves": wired}))
    ... except KeyError as exc:
    ...     print(exc.args[0].split(":")[0])
    reserves.ETH.oracle
    """
    refuse_fixed(old, new, CHANGEABLE, hint=f" (changeable: {', '.join(CHANGEABLE)})")
    refuse_new_keys(old.reserves, new.reserves, "reserves", "a reserve")
    refuse_new_keys(old.emode_categories, new.emode_categories, "emode_categories", "a category")
    for asset, before in old.reserves.items():
        after = new.reserves[asset]
        for name in _RESERVE_WIRING:
            if getattr(before, name) != getattr(after, name):
                raise KeyError(
                    f"reserves.{asset}.{name}: cannot change in a running market (it is "
                    "wiring, not a risk parameter)"
                )
        if (before.rate is None) != (after.rate is None):
            raise KeyError(
                f"reserves.{asset}.rate: a reserve's rate strategy can be changed, not added "
                "or removed, in a running market"
            )
