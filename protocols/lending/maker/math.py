"""Exact integer reference math of Maker (dss) liquidations, mirroring the contracts line by line.

Units are the contracts' own: collateral and normalised debt are wads (``ink``, ``art``, ``lot``:
1e18), rates and prices are rays (``rate``, ``spot``, ``top``, ``buf``, ``cusp``, ``cut``: 1e27),
DAI amounts are rads (``dust``, ``tab``, ``due``, ``tip``, ``hole``, ``Hole``: 1e45) and
penalties and fractions are wads (``chop`` = 1.13e18 is a 13 % penalty, ``chip``). Every
quotient is Solidity's: a floor division, in the order the contract writes it.

Sources (makerdao/dss at fa4f6630, 2022-05-18, unless noted):

- ``src/vat.sol`` ``frob`` (the safety check ``art * rate <= ink * spot``);
- ``src/spot.sol`` ``poke`` (``spot = val * 1e9 / par / mat``);
- ``src/cat.sol`` ``bite`` (liquidations 1.2: ``box``, ``litter``, ``dunk``, wad ``chop``), and
  the launch version at f632302 (2020-01-22; logic unchanged since the MCD release 6fa5581 of
  November 2019), in force on Black Thursday (12 March 2020): fixed ``lump`` lots, ray ``chop``;
- ``src/dog.sol`` ``bark`` (liquidations 2.0: partial liquidation within ``Hole``/``hole``, the
  dust rule);
- ``src/clip.sol`` ``kick``, ``take``, ``redo``, ``status``, ``upchost``;
- ``src/abaci.sol`` ``LinearDecrease``, ``StairstepExponentialDecrease``, ``ExponentialDecrease``
  and their ``rpow`` (dss PR #78; ``src/jug.sol`` ``_rpow`` computes the same values).

Python integers do not overflow, so each ``mul``/``add`` that the contract guards is checked
against ``uint256`` explicitly and raises ``OverflowError`` where the contract reverts.
"""

from __future__ import annotations

from dataclasses import dataclass

from protosim.units import MAX_UINT256, RAY, WAD, Ray, Wad

__all__ = [
    "BLN",
    "RAD",
    "RAY",
    "WAD",
    "BarkAmounts",
    "BiteAmounts",
    "CatReverted",
    "ClipperReverted",
    "DogReverted",
    "DssReverted",
    "FlipperReverted",
    "Rad",
    "TakeAmounts",
    "VowReverted",
    "bark_amounts",
    "bite_amounts",
    "bite_amounts_lump",
    "clipper_top",
    "exponential_decrease",
    "feed_price",
    "is_safe",
    "is_unsafe",
    "keeper_incentive",
    "linear_decrease",
    "needs_redo",
    "rdiv",
    "redo_incentive",
    "rmul",
    "rpow",
    "spot_price",
    "stairstep_exponential_decrease",
    "take_amounts",
    "upchost",
    "wmul",
]

Rad = int
"""A DAI amount scaled by 1e45 (the Vat's internal unit: wad × ray)."""

RAD: Rad = 10**45
BLN = 10**9
"""``wad * BLN`` is the same number as a ray (Spotter and Clipper lift OSM prices this way)."""

_MAX_INT256 = 2**255


class DssReverted(Exception):  # noqa: N818 - named after the on-chain revert
    """A call that the dss contract would revert.

    Parameters
    ----------
    reason : str
        The contract's revert string, e.g. ``"Clipper/too-expensive"``.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class CatReverted(DssReverted):
    """``Cat.bite`` reverted (``"Cat/…"``)."""


class DogReverted(DssReverted):
    """``Dog.bark`` reverted (``"Dog/…"``)."""


class FlipperReverted(DssReverted):
    """A ``Flipper`` call reverted (``"Flipper/…"``)."""


class ClipperReverted(DssReverted):
    """A ``Clipper`` call reverted (``"Clipper/…"``)."""


class VowReverted(DssReverted):
    """A ``Vow`` call reverted (``"Vow/…"``)."""


def _uint(*values: int) -> None:
    for value in values:
        if value < 0:
            raise ValueError(f"expected a uint256 (>= 0), was {value}")


def _fits(value: int, what: str) -> int:
    if value > MAX_UINT256:
        raise OverflowError(f"{what} overflows uint256 (the contract reverts)")
    return value


def rmul(x: int, y: Ray) -> int:
    """Return ``x * y / 1e27`` rounded down, as dss ``rmul`` (clip, abaci, jug, cat).

    Parameters
    ----------
    x : int
        Any non-negative amount (a ray, a rad, …).
    y : Ray
        Factor scaled by 1e27.

    Returns
    -------
    int
        ``(x * y) // 1e27`` in the scale of ``x``.

    Raises
    ------
    OverflowError
        If ``x * y`` exceeds ``uint256`` (dss ``mul`` reverts).

    Examples
    --------
    An OSM price of $4 with a 25 % buffer (``buf`` = 1.25 ray) starts at $5; 3 wei × 0.5 is
    1 wei (the half is dropped):

    >>> rmul(4 * RAY, 125 * RAY // 100) == 5 * RAY
    True
    >>> rmul(3, RAY // 2)
    1
    """
    _uint(x, y)
    return _fits(x * y, "rmul") // RAY


def rdiv(x: int, y: Ray) -> int:
    """Return ``x * 1e27 / y`` rounded down, as dss ``rdiv`` (spot, clip).

    Parameters
    ----------
    x : int
        Non-negative dividend.
    y : Ray
        Positive divisor scaled by 1e27.

    Returns
    -------
    int
        ``(x * 1e27) // y``.

    Raises
    ------
    ZeroDivisionError
        If ``y == 0`` (Solidity's checked division reverts).
    OverflowError
        If ``x * 1e27`` exceeds ``uint256``.

    Examples
    --------
    A price of 2.5 ray over a ``top`` of 5 ray is 0.5 ray; 2 / 3 truncates:

    >>> rdiv(25 * RAY // 10, 5 * RAY) == RAY // 2
    True
    >>> rdiv(2, 3 * RAY)
    0
    """
    _uint(x, y)
    if y == 0:
        raise ZeroDivisionError("rdiv by zero (the contract reverts)")
    return _fits(x * RAY, "rdiv") // y


def wmul(x: int, y: Wad) -> int:
    """Return ``x * y / 1e18`` rounded down, as dss ``wmul`` (clip).

    Parameters
    ----------
    x : int
        Any non-negative amount (a rad for ``tab`` and ``dust``).
    y : Wad
        Factor scaled by 1e18 (``chip``, ``chop``).

    Returns
    -------
    int
        ``(x * y) // 1e18`` in the scale of ``x``.

    Raises
    ------
    OverflowError
        If ``x * y`` exceeds ``uint256``.

    Examples
    --------
    A $20 dust times a 10 % chop is the Clipper's ``chost`` of $22 (clip.t.sol
    ``test_redo_incentive``: ``chost == 22 * RAD``):

    >>> wmul(20 * RAD, 11 * WAD // 10) == 22 * RAD
    True
    """
    _uint(x, y)
    return _fits(x * y, "wmul") // WAD


def rpow(x: int, n: int, b: int = RAY) -> int:
    """Return ``x ** n`` in fixed point of base ``b``, by squaring, as dss ``rpow``.

    Mirrors the assembly of ``abaci.sol`` (dss PR #78) and ``jug.sol`` ``_rpow``: every
    intermediate product is rounded half up (``+ b / 2`` then a floor division). The two
    versions agree on every value and revert on the same inputs (``x ≥ 2**128`` when squared).

    Parameters
    ----------
    x : int
        Base in fixed point of ``b`` (a ray ``cut`` such as 0.99e27).
    n : int
        Non-negative integer exponent (a number of steps or seconds).
    b : int
        The fixed-point one, default ``RAY``.

    Returns
    -------
    int
        ``b`` if ``n == 0`` (even for ``x == 0``), ``0`` if ``x == 0``, else the rounded power.

    Raises
    ------
    ValueError
        If an argument is negative or ``b == 0``.
    OverflowError
        Where the assembly reverts: ``x ≥ 2**128`` before a squaring, or a rounded product
        leaving ``uint256``.

    Examples
    --------
    0.99 ray to the 2nd power is 0.9801 ray exactly; in base 10, 3 ** 3 with half-up rounding
    is 3 → 0.9 → 2.7: (3·3 + 5) // 10 = 1, then (3·1 + 5) // 10 = 0:

    >>> rpow(99 * RAY // 100, 2) == 9801 * RAY // 10_000
    True
    >>> rpow(3, 3, 10), rpow(0, 0), rpow(0, 5)
    (0, 1000000000000000000000000000, 0)
    """
    _uint(x, n, b)
    if b == 0:
        raise ValueError("expected a positive fixed-point base b")
    if n == 0:
        return b
    if x == 0:
        return 0
    z = x if n % 2 else b
    half = b // 2
    n //= 2
    while n:
        if x >> 128:
            raise OverflowError("rpow: x * x overflows uint256 (the contract reverts)")
        x = _fits(x * x + half, "rpow") // b
        if n % 2:
            z = _fits(z * x + half, "rpow") // b
        n //= 2
    return z


# --- Vat and Spotter -------------------------------------------------------------------------


def is_safe(ink: Wad, art: Wad, rate: Ray, spot: Ray) -> bool:
    """Return whether a vault passes the Vat's safety check, ``art·rate ≤ ink·spot``.

    ``Vat.frob`` (vat.sol) lets a vault draw debt or free collateral only when
    ``tab = art * rate <= ink * spot`` (revert ``"Vat/not-safe"``).

    Parameters
    ----------
    ink : Wad
        Locked collateral, wad.
    art : Wad
        Normalised debt, wad.
    rate : Ray
        The ilk's accumulated stability fee, ray (≥ 1.0).
    spot : Ray
        Collateral price with the safety margin, ``price / mat``, ray (DAI per unit).

    Returns
    -------
    bool
        True when ``art * rate <= ink * spot`` (both rads).

    Examples
    --------
    clip.t.sol ``setUp``: 40 gold against 100 DAI is safe at spot 2.5 and unsafe at spot 2:

    >>> [is_safe(40 * WAD, 100 * WAD, RAY, spot) for spot in (25 * RAY // 10, 2 * RAY)]
    [True, False]
    """
    _uint(ink, art, rate, spot)
    return art * rate <= ink * spot


def is_unsafe(ink: Wad, art: Wad, rate: Ray, spot: Ray) -> bool:
    """Return whether ``Dog.bark`` / ``Cat.bite`` may liquidate the vault.

    The require of dog.sol and cat.sol: ``spot > 0 && ink * spot < art * rate``. A zero ``spot``
    (the Spotter's answer when the OSM has no price) blocks liquidation. This is exactly
    ``not is_safe(...)`` whenever ``spot > 0``.

    Parameters
    ----------
    ink, art : Wad
        Collateral and normalised debt, wads.
    rate, spot : Ray
        Accumulated rate and spot price, rays.

    Returns
    -------
    bool
        True when the vault can be barked or bitten.

    Examples
    --------
    >>> is_unsafe(40 * WAD, 100 * WAD, RAY, 2 * RAY), is_unsafe(40 * WAD, 100 * WAD, RAY, 0)
    (True, False)
    """
    _uint(ink, art, rate, spot)
    return spot > 0 and ink * spot < art * rate


def spot_price(val: Wad, par: Ray, mat: Ray) -> Ray:
    """Return the Vat's ``spot`` as ``Spotter.poke`` computes it: ``val / par / mat``.

    spot.sol: ``rdiv(rdiv(mul(uint(val), 10 ** 9), par), mat)``, both divisions rounding down.

    Parameters
    ----------
    val : Wad
        The OSM price (``pip.peek()``), USD per collateral unit, wad.
    par : Ray
        The DAI target price, ray (1.0 on mainnet).
    mat : Ray
        Liquidation ratio, ray (1.45 ray for ETH-A).

    Returns
    -------
    Ray
        The price with the safety margin, ray.

    Raises
    ------
    ZeroDivisionError
        If ``par`` or ``mat`` is zero.

    Examples
    --------
    clip.t.sol ``setUp``: a $5 price at ``mat`` 200 % gives spot 2.5; ETH at $1,450 and a
    145 % ratio gives spot 1,000:

    >>> spot_price(5 * WAD, RAY, 2 * RAY) == 25 * RAY // 10
    True
    >>> spot_price(1_450 * WAD, RAY, 145 * RAY // 100) == 1_000 * RAY
    True
    """
    _uint(val, par, mat)
    return rdiv(rdiv(_fits(val * BLN, "mul"), par), mat)


def feed_price(val: Wad, par: Ray) -> Ray:
    """Return the Clipper's feed price, ``Clipper.getFeedPrice``: ``val * 1e9 / par``.

    The Clipper reads the OSM directly (not ``spot``), so a change of ``mat`` does not move
    auction start prices (clip.sol comment on ``getFeedPrice``).

    Parameters
    ----------
    val : Wad
        The OSM price, wad.
    par : Ray
        The DAI target price, ray.

    Returns
    -------
    Ray
        The price in DAI per collateral unit, ray.

    Examples
    --------
    >>> feed_price(4 * WAD, RAY) == 4 * RAY
    True
    """
    _uint(val, par)
    return rdiv(_fits(val * BLN, "mul"), par)


# --- Cat (liquidations 1.0 and 1.2) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BiteAmounts:
    """What one ``Cat.bite`` takes from a vault and sends to the Flipper.

    Attributes
    ----------
    dink : Wad
        Collateral grabbed from the vault, the auction ``lot``.
    dart : Wad
        Normalised debt grabbed from the vault.
    due : Rad
        Debt moved to the Vow as bad debt (``dart * rate``), queued with ``vow.fess``.
    tab : Rad
        DAI the auction must raise, debt plus penalty.
    """

    dink: Wad
    dart: Wad
    due: Rad
    tab: Rad


def bite_amounts(
    *,
    ink: Wad,
    art: Wad,
    rate: Ray,
    spot: Ray,
    dust: Rad,
    chop: Wad,
    dunk: Rad,
    box: Rad,
    litter: Rad,
) -> BiteAmounts:
    """Return the amounts of ``Cat.bite`` under liquidations 1.2 (dss cat.sol, Aug 2020 →).

    ``room = box - litter`` must be positive and at least ``dust``; then
    ``dart = min(art, min(dunk, room) * WAD / rate / chop)``,
    ``dink = min(ink, ink * dart / art)``, ``tab = dart * rate * chop / WAD``. The remaining vault
    may be dusty (the Cat does not check).

    Parameters
    ----------
    ink, art : Wad
        The vault's collateral and normalised debt.
    rate, spot : Ray
        The ilk's rate and spot.
    dust : Rad
        The ilk's minimum vault debt.
    chop : Wad
        Liquidation penalty multiplier (1.13 wad = 13 %).
    dunk : Rad
        Largest ``tab`` of one auction of this ilk.
    box, litter : Rad
        Cap on DAI out for liquidation over all ilks, and the amount out now.

    Returns
    -------
    BiteAmounts
        ``dink`` (lot), ``dart``, ``due`` and ``tab``.

    Raises
    ------
    CatReverted
        ``"Cat/not-unsafe"``; ``"Cat/liquidation-limit-hit"`` when ``litter >= box`` or the room
        is below ``dust`` (dss reverts without a reason in ``sub`` when ``litter > box``);
        ``"Cat/null-auction"`` when ``dart`` or ``dink`` rounds to zero; ``"Cat/overflow"``.

    Examples
    --------
    vat.t.sol ``BiteTest.test_bite_over_dunk``: 40 gold, 100 DAI debt at spot 2, ``dunk`` 82.5
    DAI, chop 1.1: ``dart = 82.5 / 1.1 = 75``, ``dink = 40 · 75 / 100 = 30``, tab 82.5 DAI:

    >>> b = bite_amounts(ink=40 * WAD, art=100 * WAD, rate=RAY, spot=2 * RAY, dust=0,
    ...                  chop=11 * WAD // 10, dunk=825 * RAD // 10, box=10**7 * RAD, litter=0)
    >>> b.dink == 30 * WAD, b.dart == 75 * WAD, b.due == 75 * RAD, b.tab == 825 * RAD // 10
    (True, True, True, True)
    """
    _uint(ink, art, rate, spot, dust, chop, dunk, box, litter)
    if not is_unsafe(ink, art, rate, spot):
        raise CatReverted("Cat/not-unsafe")
    if not litter < box:
        raise CatReverted("Cat/liquidation-limit-hit")
    room = box - litter
    if room < dust:
        raise CatReverted("Cat/liquidation-limit-hit")
    dart = min(art, _fits(min(dunk, room) * WAD, "mul") // rate // chop)
    dink = min(ink, _fits(ink * dart, "mul") // art)
    if dart == 0 or dink == 0:
        raise CatReverted("Cat/null-auction")
    if dart > _MAX_INT256 or dink > _MAX_INT256:
        raise CatReverted("Cat/overflow")
    due = _fits(dart * rate, "mul")
    return BiteAmounts(dink=dink, dart=dart, due=due, tab=_fits(due * chop, "mul") // WAD)


def bite_amounts_lump(
    *, ink: Wad, art: Wad, rate: Ray, spot: Ray, lump: Wad, chop: Ray
) -> BiteAmounts:
    """Return the amounts of the launch ``Cat.bite`` (MCD, Nov 2019 – Aug 2020; Black Thursday).

    cat.sol at f632302: ``lot = min(ink, lump)``, ``art = min(art, lot * art / ink)``,
    ``tab = rmul(art * rate, chop)`` with ``chop`` a **ray**. There is no global limit and no
    dust rule; a vault larger than ``lump`` is bitten again, one lot at a time.

    Parameters
    ----------
    ink, art : Wad
        The vault's collateral and normalised debt.
    rate, spot : Ray
        The ilk's rate and spot.
    lump : Wad
        Fixed collateral lot size of one auction (50 ETH for ETH-A in March 2020: "lots up to
        50 ETH", Whiterabbit, 14 March 2020).
    chop : Ray
        Liquidation penalty multiplier, ray (1.13 ray = 13 %).

    Returns
    -------
    BiteAmounts
        ``dink`` (the lot), ``dart``, ``due`` and ``tab``.

    Raises
    ------
    CatReverted
        ``"Cat/not-unsafe"``; ``"Cat/overflow"``.
    ZeroDivisionError
        If ``ink == 0`` while unsafe (the contract's division reverts).

    Examples
    --------
    A 120 ETH vault owing 10,000 DAI at spot 80 (price $120 at 150 %), lump 50 ETH, chop 13 %:
    ``art = 10,000 · 50 / 120 = 4,166.66…`` DAI, ``tab = 1.13 × that = 4,708.33…`` DAI:

    >>> b = bite_amounts_lump(ink=120 * WAD, art=10_000 * WAD, rate=RAY, spot=80 * RAY,
    ...                       lump=50 * WAD, chop=113 * RAY // 100)
    >>> b.dink == 50 * WAD, b.dart, b.tab // RAY
    (True, 4166666666666666666666, 4708333333333333333332)
    """
    _uint(ink, art, rate, spot, lump, chop)
    if not is_unsafe(ink, art, rate, spot):
        raise CatReverted("Cat/not-unsafe")
    lot = min(ink, lump)
    dart = min(art, _fits(lot * art, "mul") // ink)
    if lot > _MAX_INT256 or dart > _MAX_INT256:
        raise CatReverted("Cat/overflow")
    due = _fits(dart * rate, "mul")
    return BiteAmounts(dink=lot, dart=dart, due=due, tab=rmul(due, chop))


# --- Dog (liquidations 2.0) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BarkAmounts:
    """What one ``Dog.bark`` takes from a vault and the Clipper auction it starts.

    Attributes
    ----------
    dink : Wad
        Collateral grabbed, the auction ``lot``.
    dart : Wad
        Normalised debt grabbed.
    due : Rad
        Debt queued in the Vow (``dart * rate``).
    tab : Rad
        DAI the auction must raise, ``due * chop / WAD``; added to ``Dirt`` and ``ilk.dirt``.
    coin : Rad
        Keeper incentive paid at kick, ``tip + wmul(tab, chip)`` (zero if both are zero).
    """

    dink: Wad
    dart: Wad
    due: Rad
    tab: Rad
    coin: Rad


def bark_amounts(
    *,
    ink: Wad,
    art: Wad,
    rate: Ray,
    spot: Ray,
    dust: Rad,
    chop: Wad,
    ilk_hole: Rad,
    ilk_dirt: Rad,
    global_hole: Rad,
    global_dirt: Rad,
    tip: Rad = 0,
    chip: Wad = 0,
) -> BarkAmounts:
    """Return the amounts of ``Dog.bark``: a partial liquidation within the hole room.

    dog.sol: ``room = min(Hole - Dirt, ilk.hole - ilk.dirt)``;
    ``dart = min(art, room * WAD / rate / chop)``. If that leaves a remainder,
    ``(art - dart) * rate < dust`` liquidates the whole vault (the limits may then be exceeded by
    at most ``dust * chop``); otherwise the partial auction itself must not be dusty,
    ``dart * rate >= dust``. Then ``dink = ink * dart / art``, ``due = dart * rate``,
    ``tab = due * chop / WAD``, and the Clipper's ``kick`` pays ``tip + wmul(tab, chip)``.

    Parameters
    ----------
    ink, art : Wad
        The vault's collateral and normalised debt.
    rate, spot : Ray
        The ilk's rate and spot.
    dust : Rad
        The ilk's minimum vault debt.
    chop : Wad
        Liquidation penalty multiplier (1.13 wad = 13 %; the Dog requires ≥ 1 wad).
    ilk_hole, ilk_dirt : Rad
        The ilk's cap on DAI out for liquidation and the amount out now (``ilks[ilk].hole``,
        ``ilks[ilk].dirt``).
    global_hole, global_dirt : Rad
        The same over all ilks (``Dog.Hole``, ``Dog.Dirt``).
    tip : Rad
        The Clipper's flat keeper reward, default 0.
    chip : Wad
        The Clipper's keeper reward as a fraction of ``tab``, default 0.

    Returns
    -------
    BarkAmounts
        ``dink``, ``dart``, ``due``, ``tab`` and ``coin``.

    Raises
    ------
    DogReverted
        ``"Dog/not-unsafe"``, ``"Dog/liquidation-limit-hit"`` (no room left),
        ``"Dog/dusty-auction-from-partial-liquidation"``, ``"Dog/null-auction"``,
        ``"Dog/overflow"``.

    Examples
    --------
    clip.t.sol ``test_bark_only_leaving_dust_over_hole_rate``: rate 1.02, ``hole`` 81.6 DAI,
    chop 1, dust 20.4 DAI: ``dart = 81.6 / 1.02 = 80`` leaves ``20 × 1.02 = 20.4`` DAI = dust, so
    the liquidation is partial: lot ``40 · 80 / 100 = 32``, tab 81.6 DAI:

    >>> b = bark_amounts(ink=40 * WAD, art=100 * WAD, rate=102 * RAY // 100, spot=2 * RAY,
    ...                  dust=204 * RAD // 10, chop=WAD, ilk_hole=816 * RAD // 10, ilk_dirt=0,
    ...                  global_hole=1_000 * RAD, global_dirt=0)
    >>> b.dink == 32 * WAD, b.dart == 80 * WAD, b.tab == 816 * RAD // 10, b.coin
    (True, True, True, 0)

    clip.t.sol ``test_kick``: the whole 100 DAI vault with a 10 % chop, tip 100 DAI and chip
    2 %: tab 110 DAI, coin ``100 + 0.02 × 110 = 102.2`` DAI:

    >>> b = bark_amounts(ink=40 * WAD, art=100 * WAD, rate=RAY, spot=2 * RAY, dust=20 * RAD,
    ...                  chop=11 * WAD // 10, ilk_hole=1_000 * RAD, ilk_dirt=0,
    ...                  global_hole=1_000 * RAD, global_dirt=0, tip=100 * RAD,
    ...                  chip=2 * WAD // 100)
    >>> b.tab == 110 * RAD, b.coin == 1022 * RAD // 10
    (True, True)
    """
    _uint(ink, art, rate, spot, dust, chop, ilk_hole, ilk_dirt, global_hole, global_dirt)
    _uint(tip, chip)
    if not is_unsafe(ink, art, rate, spot):
        raise DogReverted("Dog/not-unsafe")
    if not (global_hole > global_dirt and ilk_hole > ilk_dirt):
        raise DogReverted("Dog/liquidation-limit-hit")
    room = min(global_hole - global_dirt, ilk_hole - ilk_dirt)
    dart = min(art, _fits(room * WAD, "mul") // rate // chop)
    if art > dart:
        if (art - dart) * rate < dust:
            dart = art
        elif dart * rate < dust:
            raise DogReverted("Dog/dusty-auction-from-partial-liquidation")
    dink = _fits(ink * dart, "mul") // art
    if dink == 0:
        raise DogReverted("Dog/null-auction")
    if dart > _MAX_INT256 or dink > _MAX_INT256:
        raise DogReverted("Dog/overflow")
    due = _fits(dart * rate, "mul")
    tab = _fits(due * chop, "mul") // WAD
    return BarkAmounts(
        dink=dink, dart=dart, due=due, tab=tab, coin=keeper_incentive(tab, tip, chip)
    )


# --- Abacus price-decrease functions ---------------------------------------------------------


def linear_decrease(top: Ray, dur: int, tau: int) -> Ray:
    """Return ``LinearDecrease.price(top, dur)``: ``top · (tau − dur) / tau``, zero from ``tau``.

    abaci.sol: ``if (dur >= tau) return 0; return rmul(top, mul(tau - dur, RAY) / tau);`` — the
    fraction is floored to a ray first, then the product is floored.

    Parameters
    ----------
    top : Ray
        Starting price, ray (DAI per collateral unit).
    dur : int
        Seconds since the auction (re)start.
    tau : int
        Seconds after which the price is zero.

    Returns
    -------
    Ray
        The current price, ray.

    Examples
    --------
    abaci.t.sol ``test_linear_decrease``: ``tau`` one hour, top 1,000: after 6 minutes 900, after
    the hour 0:

    >>> [linear_decrease(1_000 * RAY, dur, 3_600) // RAY for dur in (0, 360, 3_240, 3_600)]
    [1000, 900, 100, 0]
    """
    _uint(top, dur, tau)
    if dur >= tau:
        return 0
    return rmul(top, _fits((tau - dur) * RAY, "mul") // tau)


def _check_cut(cut: Ray) -> None:
    # The Abacus's file("cut") rejects cut > RAY ("...Decrease/cut-gt-RAY"); price() never sees it.
    if cut > RAY:
        raise ValueError(f"expected cut <= RAY (file rejects cut-gt-RAY), was {cut}")


def stairstep_exponential_decrease(top: Ray, dur: int, step: int, cut: Ray) -> Ray:
    """Return ``StairstepExponentialDecrease.price``: ``top · cut ** (dur // step)``.

    abaci.sol: ``rmul(top, rpow(cut, dur / step, RAY))`` — the power rounds half up at each
    squaring, the final product rounds down.

    Parameters
    ----------
    top : Ray
        Starting price, ray.
    dur : int
        Seconds since the auction (re)start.
    step : int
        Seconds between price drops (90 s for ETH-A).
    cut : Ray
        Multiplicative factor per step, ray, at most 1 ray (0.99 ray = −1 % per step).

    Returns
    -------
    Ray
        The current price, ray.

    Raises
    ------
    ZeroDivisionError
        If ``step == 0`` (the contract's division reverts).
    ValueError
        If ``cut > RAY`` (the contract's ``file`` rejects it).

    Examples
    --------
    clip.t.sol ``test_take_bid_avoids_recalculate_due_no_more_lot``: top 5, cut 0.99 per second,
    after 60 s the price is ``5 × 0.99**60 ≈ 2.7358``; 89 s into a 90 s step it has not moved:

    >>> stairstep_exponential_decrease(5 * RAY, 60, 1, 99 * RAY // 100)
    2735783211953807380973706855
    >>> stairstep_exponential_decrease(5 * RAY, 89, 90, 99 * RAY // 100) == 5 * RAY
    True
    """
    _uint(top, dur, step, cut)
    _check_cut(cut)
    if step == 0:
        raise ZeroDivisionError("dur / step with step == 0 (the contract reverts)")
    return rmul(top, rpow(cut, dur // step, RAY))


def exponential_decrease(top: Ray, dur: int, cut: Ray) -> Ray:
    """Return ``ExponentialDecrease.price``: ``top · cut ** dur`` (per-second decay).

    abaci.sol: ``rmul(top, rpow(cut, dur, RAY))``; the same as the stairstep with ``step = 1``.

    Parameters
    ----------
    top : Ray
        Starting price, ray.
    dur : int
        Seconds since the auction (re)start.
    cut : Ray
        Multiplicative factor per second, ray, at most 1 ray.

    Returns
    -------
    Ray
        The current price, ray.

    Raises
    ------
    ValueError
        If ``cut > RAY``.

    Examples
    --------
    clip.t.sol ``test_redo_incentive``: top 5, cut 0.99, 100 s after the reset:

    >>> exponential_decrease(5 * RAY, 100, 99 * RAY // 100)
    1830161706366147524653080130
    """
    _uint(top, dur, cut)
    _check_cut(cut)
    return rmul(top, rpow(cut, dur, RAY))


# --- Clipper ---------------------------------------------------------------------------------


def clipper_top(feed: Ray, buf: Ray) -> Ray:
    """Return an auction's starting price, ``top = rmul(feedPrice, buf)`` (``kick`` and ``redo``).

    Parameters
    ----------
    feed : Ray
        ``feed_price(val, par)``, ray.
    buf : Ray
        Multiplicative start buffer, ray (1.10 ray for ETH-A).

    Returns
    -------
    Ray
        ``top``, ray (the contract reverts ``"Clipper/zero-top-price"`` if it is zero).

    Examples
    --------
    >>> clipper_top(3 * RAY, 125 * RAY // 100) == 375 * RAY // 100
    True
    """
    return rmul(feed, buf)


def upchost(dust: Rad, chop: Wad) -> Rad:
    """Return the Clipper's cached minimum tab, ``chost = wmul(dust, chop)`` (``upchost``).

    Parameters
    ----------
    dust : Rad
        The ilk's minimum vault debt.
    chop : Wad
        The Dog's penalty multiplier for the ilk.

    Returns
    -------
    Rad
        The smallest tab a partial ``take`` may leave.

    Examples
    --------
    ETH-A: dust 7,500 DAI, chop 1.13: 8,475 DAI:

    >>> upchost(7_500 * RAD, 113 * WAD // 100) == 8_475 * RAD
    True
    """
    return wmul(dust, chop)


def keeper_incentive(tab: Rad, tip: Rad, chip: Wad) -> Rad:
    """Return the DAI sucked from the Vow for the keeper at ``kick``: ``tip + wmul(tab, chip)``.

    clip.sol ``kick``: paid only if ``tip > 0 || chip > 0``.

    Parameters
    ----------
    tab : Rad
        The auction's DAI target.
    tip : Rad
        Flat reward.
    chip : Wad
        Reward as a fraction of ``tab``.

    Returns
    -------
    Rad
        ``coin``, in rad.

    Examples
    --------
    ETH-A (tip 250 DAI, chip 0.1 %) on a 1,000,000 DAI tab: 250 + 1,000 = 1,250 DAI:

    >>> keeper_incentive(10**6 * RAD, 250 * RAD, WAD // 1_000) == 1_250 * RAD
    True
    """
    _uint(tab, tip, chip)
    if tip == 0 and chip == 0:
        return 0
    return _fits(tip + wmul(tab, chip), "add")


def redo_incentive(tab: Rad, lot: Wad, feed: Ray, tip: Rad, chip: Wad, chost: Rad) -> Rad:
    """Return the keeper incentive of ``Clipper.redo``: as at kick, unless the sale is dusty.

    clip.sol ``redo``: paid only if ``tab >= chost`` and ``lot * feedPrice >= chost`` (the
    collateral left, valued at the new feed price, is not dust).

    Parameters
    ----------
    tab : Rad
        The sale's remaining DAI target.
    lot : Wad
        The sale's remaining collateral.
    feed : Ray
        The current feed price, ray.
    tip : Rad
        The Clipper's flat reward.
    chip : Wad
        The Clipper's reward as a fraction of ``tab``.
    chost : Rad
        The Clipper's ``chost``.

    Returns
    -------
    Rad
        ``coin``, zero for a dusty sale.

    Examples
    --------
    clip.t.sol ``test_redo_incentive``: 2 gold at $4 is $8 < chost $22, so no incentive:

    >>> redo_incentive(50 * RAD, 2 * WAD, 4 * RAY, 100 * RAD, 0, 22 * RAD)
    0
    >>> redo_incentive(110 * RAD, 40 * WAD, 4 * RAY, 100 * RAD, 0, 22 * RAD) == 100 * RAD
    True
    """
    _uint(tab, lot, feed, chost)
    if tab >= chost and _fits(lot * feed, "mul") >= chost:
        return keeper_incentive(tab, tip, chip)
    return 0


def needs_redo(price: Ray, top: Ray, tic: int, now: int, tail: int, cusp: Ray) -> bool:
    """Return whether a sale must be reset, ``Clipper.status``'s ``done``.

    clip.sol: ``done = (now - tic > tail || rdiv(price, top) < cusp)``: too old, or the price has
    fallen below the fraction ``cusp`` of ``top``.

    Parameters
    ----------
    price : Ray
        The current auction price, ray.
    top : Ray
        The sale's starting price, ray.
    tic : int
        The sale's start time, seconds.
    now : int
        Current time, seconds (``now < tic`` reverts in the contract's ``sub``).
    tail : int
        Seconds before a reset is due (7,200 for ETH-A).
    cusp : Ray
        Fraction of ``top`` below which a reset is due, ray (0.45 for ETH-A).

    Returns
    -------
    bool
        True when ``take`` reverts ``"Clipper/needs-reset"`` and ``redo`` is allowed.

    Raises
    ------
    ValueError
        If ``now < tic``.

    Examples
    --------
    clip.t.sol ``test_auction_reset_tail``: ``tail`` 3,600 s: not at 3,600 s, yes at 3,601 s;
    ``test_auction_reset_cusp``: a linear price from 5 over one hour is below half of ``top``
    after 1,801 s but not at 1,800 s:

    >>> [needs_redo(4 * RAY, 5 * RAY, 0, now, 3_600, 0) for now in (3_600, 3_601)]
    [False, True]
    >>> price = [linear_decrease(5 * RAY, t, 3_600) for t in (1_800, 1_801)]
    >>> [needs_redo(p, 5 * RAY, 0, t, 3_600, RAY // 2) for p, t in zip(price, (1_800, 1_801))]
    [False, True]
    """
    _uint(price, top, tic, now, tail, cusp)
    if now < tic:
        raise ValueError(f"expected now >= tic, was now={now}, tic={tic}")
    return now - tic > tail or rdiv(price, top) < cusp


@dataclass(frozen=True, slots=True)
class TakeAmounts:
    """What one ``Clipper.take`` moves.

    Attributes
    ----------
    slice : Wad
        Collateral sent to the buyer.
    owe : Rad
        DAI the buyer pays to the Vow.
    tab : Rad
        The sale's DAI target left.
    lot : Wad
        The sale's collateral left (returned to the vault owner when ``tab`` reaches zero).
    """

    slice: Wad
    owe: Rad
    tab: Rad
    lot: Wad


def take_amounts(
    *, tab: Rad, lot: Wad, amt: Wad, max_price: Ray, price: Ray, chost: Rad
) -> TakeAmounts:
    """Return the amounts of ``Clipper.take(id, amt, max, …)`` at the current price.

    clip.sol: ``slice = min(lot, amt)``, ``owe = slice * price``. If ``owe > tab`` the buyer pays
    exactly ``tab`` and gets ``tab / price``. If the purchase is partial (``owe < tab`` and
    ``slice < lot``) and would leave less than ``chost`` of tab, it is cut to leave exactly
    ``chost`` (``owe = tab - chost``, ``slice = owe / price``), or reverts if ``tab <= chost``
    already (only the whole lot can be bought then). ``needs-reset`` is the caller's check.

    Parameters
    ----------
    tab : Rad
        The sale's DAI target.
    lot : Wad
        The sale's collateral.
    amt : Wad
        Most collateral the buyer wants.
    max_price : Ray
        Highest acceptable price (dss ``max``), ray.
    price : Ray
        The current auction price, ray.
    chost : Rad
        The Clipper's ``chost``.

    Returns
    -------
    TakeAmounts
        ``slice``, ``owe`` and the ``tab``, ``lot`` left.

    Raises
    ------
    ClipperReverted
        ``"Clipper/too-expensive"`` if ``max_price < price``; ``"Clipper/no-partial-purchase"``.
    ZeroDivisionError
        If the price is zero and a slice must be recomputed (the contract's division reverts).

    Examples
    --------
    clip.t.sol ``takeSetup`` (tab 110 DAI, lot 40, price 5, chost 22 DAI).
    ``test_take_over_tab``: 25 gold would cost 125 > 110, so 22 gold for 110 DAI:

    >>> t = take_amounts(tab=110 * RAD, lot=40 * WAD, amt=25 * WAD, max_price=5 * RAY,
    ...                  price=5 * RAY, chost=22 * RAD)
    >>> t.slice == 22 * WAD, t.owe == 110 * RAD, t.tab, t.lot == 18 * WAD
    (True, True, 0, True)

    ``test_take_bid_recalculates_due_to_chost_check``: 18 gold (90 DAI) would leave 20 < 22, so
    the buyer pays 88 DAI for 17.6 gold and 22 DAI of tab stays:

    >>> t = take_amounts(tab=110 * RAD, lot=40 * WAD, amt=18 * WAD, max_price=5 * RAY,
    ...                  price=5 * RAY, chost=22 * RAD)
    >>> t.slice == 176 * WAD // 10, t.owe == 88 * RAD, t.tab == 22 * RAD
    (True, True, True)
    """
    _uint(tab, lot, amt, max_price, price, chost)
    if max_price < price:
        raise ClipperReverted("Clipper/too-expensive")
    bought = min(lot, amt)
    owe = _fits(bought * price, "mul")
    if owe > tab:
        owe = tab
        bought = owe // price
    elif owe < tab and bought < lot and tab - owe < chost:
        if not tab > chost:
            raise ClipperReverted("Clipper/no-partial-purchase")
        owe = tab - chost
        bought = owe // price
    return TakeAmounts(slice=bought, owe=owe, tab=tab - owe, lot=lot - bought)
