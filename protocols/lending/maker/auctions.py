"""Maker auction state machines: Flipper (liquidations 1.x), Clipper (2.0) and a minimal Vow.

States are frozen dataclasses (`FlipBid`, `Sale`, `Vow`); transitions are pure methods of the
frozen parameter objects `Flipper` and `Clipper` (and of `Vow` itself). An auction transition
returns a `Step`: the new state (``None`` once the contract deletes the auction), the token
movements it makes (`Transfer`: ``vat.flux`` of collateral, ``vat.move`` of DAI), the keeper
incentive sucked from the Vow (``coin``) and the DAI target released from the liquidation limit
(``digs``: ``Cat.claw`` for the Flipper, ``Dog.digs`` for the Clipper). Rejected calls raise
`FlipperReverted`, `ClipperReverted` or `VowReverted` with the contract's revert string.

Sources (makerdao/dss at fa4f6630 unless noted): ``src/flip.sol`` (bidding rules unchanged since
the MCD launch of November 2019; the self-overbid transfer shortcut of 1f38996, April 2020,
changes no balance), ``src/clip.sol``, ``src/abaci.sol``, ``src/vow.sol``. Units as in
:mod:`protosim.protocols.lending.maker.math`: collateral in wad, DAI in rad, prices in ray,
times in seconds.

Not modelled: auction ids and the ``active`` list (the caller numbers auctions), ``yank`` and
``cage`` (emergency shutdown), the Clipper's ``stopped`` breaker, the ``clipperCall`` flash
callback and the re-entrancy lock, and flap/flop auctions themselves (the Vow only says when one
is due).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from protosim.protocols.lending.maker.math import (
    ClipperReverted,
    FlipperReverted,
    Rad,
    VowReverted,
    clipper_top,
    exponential_decrease,
    keeper_incentive,
    linear_decrease,
    needs_redo,
    redo_incentive,
    stairstep_exponential_decrease,
    take_amounts,
)
from protosim.units import RAY, WAD, Ray, Wad

__all__ = [
    "Abacus",
    "Asset",
    "Clipper",
    "ExponentialDecrease",
    "FlipBid",
    "FlipPhase",
    "Flipper",
    "LinearDecrease",
    "Sale",
    "StairstepExponentialDecrease",
    "Step",
    "Transfer",
    "Vow",
]

_UINT48 = 2**48
_S = TypeVar("_S")


class Asset(StrEnum):
    """What a `Transfer` moves inside the Vat."""

    GEM = "gem"
    """Collateral of the ilk (``vat.flux``), wad."""
    DAI = "dai"
    """Internal DAI (``vat.move``), rad."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """One balance movement inside the Vat.

    Attributes
    ----------
    asset : Asset
        Collateral (wad) or DAI (rad).
    src, dst : str
        Payer and payee (addresses or labels such as ``"flipper"``, ``"vow"``).
    amount : int
        Positive amount, wad for collateral, rad for DAI.
    """

    asset: Asset
    src: str
    dst: str
    amount: int


def _moves(*transfers: Transfer) -> tuple[Transfer, ...]:
    # Zero-amount vat.move/vat.flux calls change nothing; leave them out.
    return tuple(t for t in transfers if t.amount > 0)


@dataclass(frozen=True, slots=True)
class Step(Generic[_S]):
    """The result of one auction call.

    Attributes
    ----------
    state : _S or None
        The auction after the call; ``None`` when the contract deletes it.
    transfers : tuple of Transfer
        Balance movements the call makes, in order.
    coin : Rad
        Keeper incentive sucked from the Vow (``vat.suck(vow, kpr, coin)``), default 0.
    digs : Rad
        DAI target released from the liquidation limit: ``Cat.claw(tab)`` at a Flipper's
        ``deal``, ``Dog.digs`` at a Clipper's ``take``; default 0.
    """

    state: _S | None
    transfers: tuple[Transfer, ...] = ()
    coin: Rad = 0
    digs: Rad = 0


# --- Flipper (liquidations 1.0 / 1.2: English then reverse auction) --------------------------


class FlipPhase(StrEnum):
    """The two phases of a flip auction."""

    TEND = "tend"
    """Bidders raise the DAI bid for the whole lot, up to ``tab``."""
    DENT = "dent"
    """``bid == tab``: bidders lower the collateral they accept; the rest goes back to ``usr``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlipBid:
    """One flip auction, ``Flipper.bids[id]``.

    Attributes
    ----------
    id : int
        Auction id.
    bid : Rad
        DAI paid by the high bidder.
    lot : Wad
        Collateral the high bidder gets.
    guy : str
        High bidder (the kicker, e.g. the Cat, until the first bid).
    tic : int
        Bid expiry time, seconds; 0 until the first bid.
    end : int
        Auction expiry time, seconds.
    usr : str
        Receives collateral given up in the dent phase (the liquidated vault).
    gal : str
        Receives the DAI raised (the Vow).
    tab : Rad
        DAI wanted: debt plus penalty.
    """

    id: int
    bid: Rad
    lot: Wad
    guy: str
    tic: int
    end: int
    usr: str
    gal: str
    tab: Rad

    @property
    def phase(self) -> FlipPhase:
        """Return `FlipPhase.DENT` once the bid covers ``tab``, else `FlipPhase.TEND`."""
        return FlipPhase.DENT if self.bid == self.tab else FlipPhase.TEND


@dataclass(frozen=True, slots=True, kw_only=True)
class Flipper:
    """A collateral Flipper's parameters; its methods are the contract's calls, made pure.

    Defaults are flip.sol's constructor values; governance set per-ilk values by ``file``.

    Attributes
    ----------
    beg : Wad
        Minimum bid increase (tend) or lot decrease (dent) factor, default 1.05 wad (5 %).
    ttl : int
        Bid lifetime, seconds, default 3 hours.
    tau : int
        Auction duration from kick (or tick), seconds, default 2 days.
    address : str
        The Flipper's own account label, default ``"flipper"``.

    Examples
    --------
    A Black Thursday "zero bid": the first tend only has to beat the kick bid of 0, so 1 rad
    (1e-45 DAI) is legal; with no other bidder it wins the whole lot once ``ttl`` has passed:

    >>> f = Flipper()
    >>> a = f.kick(id=1, usr="vault", gal="vow", tab=5_000 * 10**45, lot=50 * WAD, now=0).state
    >>> a = f.tend(a, guy="keeper", lot=50 * WAD, bid=1, now=60).state
    >>> done = f.deal(a, now=60 + f.ttl + 1)
    >>> done.state is None, done.transfers[0].dst, done.transfers[0].amount == 50 * WAD
    (True, 'keeper', True)
    """

    beg: Wad = 105 * WAD // 100
    ttl: int = 3 * 3_600
    tau: int = 2 * 86_400
    address: str = "flipper"

    def __post_init__(self) -> None:
        if self.beg < 0 or not (0 <= self.ttl < _UINT48 and 0 <= self.tau < _UINT48):
            raise ValueError(f"expected beg >= 0 and uint48 ttl, tau, was {self}")

    def _end(self, now: int) -> int:
        if now + self.tau >= _UINT48:
            raise OverflowError("uint48 add overflows (the contract reverts)")
        return now + self.tau

    def kick(
        self,
        *,
        id: int,
        usr: str,
        gal: str,
        tab: Rad,
        lot: Wad,
        now: int,
        bid: Rad = 0,
        kicker: str = "cat",
    ) -> Step[FlipBid]:
        """Start an auction of ``lot`` for up to ``tab`` DAI, ``Flipper.kick``.

        The kicker (the Cat) becomes ``guy`` and moves the lot into the Flipper; ``end`` is
        ``now + tau``. The Cat always kicks with ``bid = 0``.

        Parameters
        ----------
        id : int
            Auction id chosen by the caller (``++kicks`` in the contract).
        usr, gal : str
            Vault owner (gets dent-phase collateral back) and DAI receiver (the Vow).
        tab : Rad
            DAI wanted.
        lot : Wad
            Collateral for sale.
        now : int
            Current time, seconds.
        bid : Rad
            Opening bid, default 0.
        kicker : str
            Account that provides the lot, default ``"cat"``.

        Returns
        -------
        Step[FlipBid]
            The new auction and the collateral transfer into the Flipper.
        """
        auction = FlipBid(
            id=id,
            bid=bid,
            lot=lot,
            guy=kicker,
            tic=0,
            end=self._end(now),
            usr=usr,
            gal=gal,
            tab=tab,
        )
        return Step(auction, _moves(Transfer(Asset.GEM, kicker, self.address, lot)))

    def tick(self, auction: FlipBid, *, now: int) -> Step[FlipBid]:
        """Restart an expired auction that has no bid, ``Flipper.tick``: ``end = now + tau``.

        Raises
        ------
        FlipperReverted
            ``"Flipper/not-finished"`` unless ``end < now``; ``"Flipper/bid-already-placed"``.
        """
        if not auction.end < now:
            raise FlipperReverted("Flipper/not-finished")
        if auction.tic != 0:
            raise FlipperReverted("Flipper/bid-already-placed")
        return Step(replace(auction, end=self._end(now)))

    def _require_biddable(self, auction: FlipBid, now: int) -> None:
        if not (auction.tic > now or auction.tic == 0):
            raise FlipperReverted("Flipper/already-finished-tic")
        if not auction.end > now:
            raise FlipperReverted("Flipper/already-finished-end")

    def _bid_expiry(self, now: int) -> int:
        if now + self.ttl >= _UINT48:
            raise OverflowError("uint48 add overflows (the contract reverts)")
        return now + self.ttl

    def tend(self, auction: FlipBid, *, guy: str, lot: Wad, bid: Rad, now: int) -> Step[FlipBid]:
        """Raise the DAI bid for the whole lot, ``Flipper.tend``.

        The bid must exceed the current one by the factor ``beg`` (``bid·1e18 ≥ beg·old``) unless
        it equals ``tab``; any bid above the current one is enough when the current bid is 0,
        so the smallest first bid is 1 rad. The new bidder refunds the previous one and pays the
        increase to ``gal``; the bid then lives ``ttl`` seconds.

        Parameters
        ----------
        auction : FlipBid
            The auction.
        guy : str
            Bidder.
        lot : Wad
            Must equal the auction's lot.
        bid : Rad
            New bid, at most ``tab``.
        now : int
            Current time, seconds.

        Returns
        -------
        Step[FlipBid]
            The auction with the new bid, the refund and the payment to ``gal``.

        Raises
        ------
        FlipperReverted
            ``"Flipper/already-finished-tic"``, ``"Flipper/already-finished-end"``,
            ``"Flipper/lot-not-matching"``, ``"Flipper/higher-than-tab"``,
            ``"Flipper/bid-not-higher"``, ``"Flipper/insufficient-increase"``.

        Examples
        --------
        flip.t.sol ``test_beg``: after a bid of 1, 1.01 is too small a step but 1.07 is not; a
        bid equal to ``tab`` needs no step:

        >>> f = Flipper()
        >>> a = f.kick(id=1, usr="u", gal="g", tab=50 * WAD, lot=100 * WAD, now=0).state
        >>> a = f.tend(a, guy="ali", lot=100 * WAD, bid=1 * WAD, now=0).state
        >>> f.tend(a, guy="bob", lot=100 * WAD, bid=101 * WAD // 100, now=0)
        Traceback (most recent call last):
        ...
        protosim.protocols.lending.maker.math.FlipperReverted: Flipper/insufficient-increase
        >>> a = f.tend(a, guy="bob", lot=100 * WAD, bid=107 * WAD // 100, now=0).state
        >>> a = f.tend(a, guy="ali", lot=100 * WAD, bid=49 * WAD, now=0).state
        >>> f.tend(a, guy="bob", lot=100 * WAD, bid=50 * WAD, now=0).state.phase
        <FlipPhase.DENT: 'dent'>
        """
        self._require_biddable(auction, now)
        if lot != auction.lot:
            raise FlipperReverted("Flipper/lot-not-matching")
        if bid > auction.tab:
            raise FlipperReverted("Flipper/higher-than-tab")
        if not bid > auction.bid:
            raise FlipperReverted("Flipper/bid-not-higher")
        if not (bid * WAD >= self.beg * auction.bid or bid == auction.tab):
            raise FlipperReverted("Flipper/insufficient-increase")
        refund = Transfer(Asset.DAI, guy, auction.guy, auction.bid if guy != auction.guy else 0)
        pay = Transfer(Asset.DAI, guy, auction.gal, bid - auction.bid)
        new = replace(auction, guy=guy, bid=bid, tic=self._bid_expiry(now))
        return Step(new, _moves(refund, pay))

    def dent(self, auction: FlipBid, *, guy: str, lot: Wad, bid: Rad, now: int) -> Step[FlipBid]:
        """Accept less collateral for the full ``tab``, ``Flipper.dent``.

        The lot must fall by the factor ``beg`` (``beg·lot ≤ old·1e18``). The new bidder refunds
        the previous one's ``bid``; the collateral given up returns to ``usr``.

        Parameters
        ----------
        auction : FlipBid
            The auction, in the dent phase.
        guy : str
            Bidder.
        lot : Wad
            New, smaller lot.
        bid : Rad
            Must equal the current bid, which must equal ``tab``.
        now : int
            Current time, seconds.

        Returns
        -------
        Step[FlipBid]
            The auction with the new lot, the refund and the collateral returned to ``usr``.

        Raises
        ------
        FlipperReverted
            ``"Flipper/already-finished-tic"``, ``"Flipper/already-finished-end"``,
            ``"Flipper/not-matching-bid"``, ``"Flipper/tend-not-finished"``,
            ``"Flipper/lot-not-lower"``, ``"Flipper/insufficient-decrease"``.

        Examples
        --------
        flip.t.sol ``test_dent``: the full bid of 50 for 100 gems; ali offers to take 95 and
        refunds bob; 5 gems go back to the vault:

        >>> f = Flipper()
        >>> a = f.kick(id=1, usr="u", gal="g", tab=50 * WAD, lot=100 * WAD, now=0).state
        >>> a = f.tend(a, guy="bob", lot=100 * WAD, bid=50 * WAD, now=0).state
        >>> s = f.dent(a, guy="ali", lot=95 * WAD, bid=50 * WAD, now=0)
        >>> [(t.asset.value, t.src, t.dst, t.amount // WAD) for t in s.transfers]
        [('dai', 'ali', 'bob', 50), ('gem', 'flipper', 'u', 5)]
        """
        self._require_biddable(auction, now)
        if bid != auction.bid:
            raise FlipperReverted("Flipper/not-matching-bid")
        if bid != auction.tab:
            raise FlipperReverted("Flipper/tend-not-finished")
        if not lot < auction.lot:
            raise FlipperReverted("Flipper/lot-not-lower")
        if self.beg * lot > auction.lot * WAD:
            raise FlipperReverted("Flipper/insufficient-decrease")
        refund = Transfer(Asset.DAI, guy, auction.guy, bid if guy != auction.guy else 0)
        give_back = Transfer(Asset.GEM, self.address, auction.usr, auction.lot - lot)
        new = replace(auction, guy=guy, lot=lot, tic=self._bid_expiry(now))
        return Step(new, _moves(refund, give_back))

    def deal(self, auction: FlipBid, *, now: int) -> Step[FlipBid]:
        """Settle a finished auction, ``Flipper.deal``: the lot goes to the high bidder.

        Allowed once there is a bid and either it has expired (``tic < now``) or the auction has
        (``end < now``). ``Cat.claw(tab)`` frees the whole ``tab`` from the litter box, whatever
        was raised; the shortfall ``tab − bid`` stays in the Vow as bad debt.

        Returns
        -------
        Step[FlipBid]
            ``state=None``, the collateral to ``guy`` and ``digs = tab``.

        Raises
        ------
        FlipperReverted
            ``"Flipper/not-finished"`` (also for an auction without bids: use `tick`).

        Examples
        --------
        flip.t.sol ``test_deal``: not before the bid's 3 hours have passed, then yes:

        >>> f = Flipper()
        >>> a = f.kick(id=1, usr="u", gal="g", tab=50 * WAD, lot=100 * WAD, now=0).state
        >>> a = f.tend(a, guy="ali", lot=100 * WAD, bid=WAD, now=0).state
        >>> f.deal(a, now=0)
        Traceback (most recent call last):
        ...
        protosim.protocols.lending.maker.math.FlipperReverted: Flipper/not-finished
        >>> f.deal(a, now=int(4.1 * 3_600)).digs == 50 * WAD
        True
        """
        if not (auction.tic != 0 and (auction.tic < now or auction.end < now)):
            raise FlipperReverted("Flipper/not-finished")
        moves = _moves(Transfer(Asset.GEM, self.address, auction.guy, auction.lot))
        return Step(None, moves, digs=auction.tab)


# --- Clipper (liquidations 2.0: Dutch auction) ------------------------------------------------


class Abacus(Protocol):
    """A price-decrease function of a Clipper (abaci.sol ``Abacus``)."""

    def price(self, top: Ray, dur: int) -> Ray:
        """Return the price ``dur`` seconds after an auction started at ``top`` (rays)."""
        ...


@dataclass(frozen=True, slots=True)
class LinearDecrease:
    """``LinearDecrease``: the price falls linearly to zero over ``tau`` seconds.

    Attributes
    ----------
    tau : int
        Seconds from start until the price is zero.
    """

    tau: int

    def price(self, top: Ray, dur: int) -> Ray:
        """Return `linear_decrease` ``(top, dur, tau)``, ray."""
        return linear_decrease(top, dur, self.tau)


@dataclass(frozen=True, slots=True)
class StairstepExponentialDecrease:
    """``StairstepExponentialDecrease``: the price is multiplied by ``cut`` every ``step`` s.

    Attributes
    ----------
    step : int
        Seconds between drops (90 for ETH-A).
    cut : Ray
        Factor per step, ray ≤ 1 (0.99 ray for ETH-A).
    """

    step: int
    cut: Ray

    def price(self, top: Ray, dur: int) -> Ray:
        """Return `stairstep_exponential_decrease` ``(top, dur, step, cut)``, ray."""
        return stairstep_exponential_decrease(top, dur, self.step, self.cut)


@dataclass(frozen=True, slots=True)
class ExponentialDecrease:
    """``ExponentialDecrease``: the price is multiplied by ``cut`` every second.

    Attributes
    ----------
    cut : Ray
        Factor per second, ray ≤ 1.
    """

    cut: Ray

    def price(self, top: Ray, dur: int) -> Ray:
        """Return `exponential_decrease` ``(top, dur, cut)``, ray."""
        return exponential_decrease(top, dur, self.cut)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sale:
    """One Clipper auction, ``Clipper.sales[id]``.

    Attributes
    ----------
    id : int
        Auction id.
    tab : Rad
        DAI still to raise.
    lot : Wad
        Collateral still for sale.
    usr : str
        The liquidated vault; gets the collateral left once ``tab`` is raised.
    tic : int
        Start time of the current price curve, seconds (reset by `Clipper.redo`).
    top : Ray
        Starting price of the current curve, ray.
    """

    id: int
    tab: Rad
    lot: Wad
    usr: str
    tic: int
    top: Ray


@dataclass(frozen=True, slots=True, kw_only=True)
class Clipper:
    """A Clipper's parameters; its methods are the contract's calls, made pure.

    Attributes
    ----------
    calc : Abacus
        The price-decrease function.
    tail : int
        Seconds after which a sale needs a reset (7,200 for ETH-A).
    cusp : Ray
        Fraction of ``top`` below which a sale needs a reset, ray (0.45 for ETH-A).
    buf : Ray
        Start-price multiplier on the feed price, ray; the constructor's default is 1.0.
    chip : Wad
        Keeper reward as a fraction of ``tab`` (< 2**64), default 0.
    tip : Rad
        Flat keeper reward (< 2**192), default 0.
    chost : Rad
        Cached ``dust · chop`` (`upchost`), default 0.
    address, vow : str
        Account labels of the Clipper and of the Vow, defaults ``"clipper"``, ``"vow"``.

    Examples
    --------
    clip.t.sol ``takeSetup``: an OSM price of $4, ``buf`` 1.25, 1 % a second; 10 gold at $5,
    then 30 seconds later the rest of the 60 DAI tab at ``5 × 0.99**30 ≈ 3.6985``:

    >>> RAD = 10**45
    >>> c = Clipper(calc=StairstepExponentialDecrease(1, 99 * RAY // 100), tail=3_600,
    ...             cusp=3 * RAY // 10, buf=125 * RAY // 100, chost=22 * RAD)
    >>> s = c.kick(id=1, tab=110 * RAD, lot=40 * WAD, usr="me", kpr="k", now=0, feed=4 * RAY)
    >>> s = c.take(s.state, amt=10 * WAD, max_price=5 * RAY, who="ali", now=0)
    >>> s.state.tab == 60 * RAD, s.state.lot == 30 * WAD
    (True, True)
    >>> price = c.price_at(s.state, 30)
    >>> end = c.take(s.state, amt=30 * WAD, max_price=price, who="bob", now=30)
    >>> end.state is None, end.transfers[0].amount == 60 * RAD // price
    (True, True)
    """

    calc: Abacus
    tail: int
    cusp: Ray
    buf: Ray = RAY
    chip: Wad = 0
    tip: Rad = 0
    chost: Rad = 0
    address: str = "clipper"
    vow: str = "vow"

    def __post_init__(self) -> None:
        if min(self.tail, self.cusp, self.buf, self.chip, self.tip, self.chost) < 0:
            raise ValueError(f"expected non-negative parameters, was {self}")
        if self.chip >= 2**64 or self.tip >= 2**192:
            # file() stores uint64(chip) and uint192(tip), silently truncating larger values.
            raise ValueError(f"expected chip < 2**64 and tip < 2**192, was {self.chip}, {self.tip}")

    def _top(self, feed: Ray) -> Ray:
        top = clipper_top(feed, self.buf)
        if top == 0:
            raise ClipperReverted("Clipper/zero-top-price")
        return top

    def kick(
        self,
        *,
        id: int,
        tab: Rad,
        lot: Wad,
        usr: str,
        kpr: str,
        now: int,
        feed: Ray,
    ) -> Step[Sale]:
        """Start a sale, ``Clipper.kick`` (called by ``Dog.bark``).

        ``top = rmul(feed, buf)``; the keeper ``kpr`` is paid ``tip + wmul(tab, chip)``. The
        collateral is already in the Clipper (``Dog.bark``'s ``vat.grab``), so no transfer.

        Parameters
        ----------
        id : int
            Sale id chosen by the caller.
        tab : Rad
            DAI to raise (``BarkAmounts.tab``).
        lot : Wad
            Collateral for sale (``BarkAmounts.dink``).
        usr : str
            The liquidated vault.
        kpr : str
            Keeper receiving the incentive.
        now : int
            Current time, seconds.
        feed : Ray
            Current OSM price (`feed_price`), ray.

        Returns
        -------
        Step[Sale]
            The new sale and ``coin``.

        Raises
        ------
        ClipperReverted
            ``"Clipper/zero-tab"``, ``"Clipper/zero-lot"``, ``"Clipper/zero-usr"`` (empty
            ``usr``), ``"Clipper/zero-top-price"``.
        """
        if tab <= 0:
            raise ClipperReverted("Clipper/zero-tab")
        if lot <= 0:
            raise ClipperReverted("Clipper/zero-lot")
        if not usr:
            raise ClipperReverted("Clipper/zero-usr")
        sale = Sale(id=id, tab=tab, lot=lot, usr=usr, tic=now, top=self._top(feed))
        return Step(sale, coin=keeper_incentive(tab, self.tip, self.chip))

    def price_at(self, sale: Sale, now: int) -> Ray:
        """Return the sale's price at ``now``: ``calc.price(top, now - tic)``, ray.

        Raises
        ------
        ValueError
            If ``now < tic`` (the contract's ``sub`` reverts).
        """
        if now < sale.tic:
            raise ValueError(f"expected now >= tic, was now={now}, tic={sale.tic}")
        return self.calc.price(sale.top, now - sale.tic)

    def status(self, sale: Sale, now: int) -> tuple[bool, Ray]:
        """Return ``(needsRedo, price)`` as ``Clipper.getStatus`` for a running sale.

        ``needsRedo`` is `needs_redo`: older than ``tail`` or ``price / top < cusp``.
        """
        price = self.price_at(sale, now)
        return needs_redo(price, sale.top, sale.tic, now, self.tail, self.cusp), price

    def take(self, sale: Sale, *, amt: Wad, max_price: Ray, who: str, now: int) -> Step[Sale]:
        """Buy up to ``amt`` collateral at the current price, ``Clipper.take``.

        Amounts follow `take_amounts` (never more than ``tab``; a partial take leaves at least
        ``chost``). The buyer gets ``slice`` and pays ``owe`` to the Vow. The sale ends when its
        lot is gone (any tab left is unrecovered: bad debt) or its tab is raised (the remaining
        lot returns to ``usr``).

        Parameters
        ----------
        sale : Sale
            The running sale.
        amt : Wad
            Most collateral to buy.
        max_price : Ray
            Highest acceptable price (dss ``max``), ray.
        who : str
            Buyer (receives the collateral and pays the DAI).
        now : int
            Current time, seconds.

        Returns
        -------
        Step[Sale]
            The sale left (``None`` if ended), the transfers and ``digs`` (``owe``, or
            ``owe + tab left`` when the lot ran out).

        Raises
        ------
        ClipperReverted
            ``"Clipper/needs-reset"``, ``"Clipper/too-expensive"``,
            ``"Clipper/no-partial-purchase"``.
        """
        done, price = self.status(sale, now)
        if done:
            raise ClipperReverted("Clipper/needs-reset")
        t = take_amounts(
            tab=sale.tab, lot=sale.lot, amt=amt, max_price=max_price, price=price, chost=self.chost
        )
        moves = [
            Transfer(Asset.GEM, self.address, who, t.slice),
            Transfer(Asset.DAI, who, self.vow, t.owe),
        ]
        if t.lot == 0:
            return Step(None, _moves(*moves), digs=t.tab + t.owe)
        if t.tab == 0:
            moves.append(Transfer(Asset.GEM, self.address, sale.usr, t.lot))
            return Step(None, _moves(*moves), digs=t.owe)
        return Step(replace(sale, tab=t.tab, lot=t.lot), _moves(*moves), digs=t.owe)

    def redo(self, sale: Sale, *, kpr: str, now: int, feed: Ray) -> Step[Sale]:
        """Restart a sale that needs it, ``Clipper.redo``: ``tic = now``, ``top = feed · buf``.

        The keeper is paid as at kick unless ``tab < chost`` or ``lot · feed < chost``.

        Parameters
        ----------
        sale : Sale
            The running sale.
        kpr : str
            Keeper receiving the incentive.
        now : int
            Current time, seconds.
        feed : Ray
            Current OSM price, ray.

        Returns
        -------
        Step[Sale]
            The reset sale and ``coin``.

        Raises
        ------
        ClipperReverted
            ``"Clipper/cannot-reset"`` unless `status` says so; ``"Clipper/zero-top-price"``.

        Examples
        --------
        clip.t.sol ``test_auction_reset_tail``: with ``tail`` one hour the reset is refused at
        3,600 s and allowed at 3,601 s, at the new feed price $3 × 1.25:

        >>> c = Clipper(calc=LinearDecrease(36_000), tail=3_600, cusp=RAY // 2,
        ...             buf=125 * RAY // 100)
        >>> s = c.kick(id=1, tab=10**47, lot=40 * WAD, usr="me", kpr="k", now=0, feed=4 * RAY)
        >>> c.redo(s.state, kpr="k", now=3_600, feed=3 * RAY)
        Traceback (most recent call last):
        ...
        protosim.protocols.lending.maker.math.ClipperReverted: Clipper/cannot-reset
        >>> r = c.redo(s.state, kpr="k", now=3_601, feed=3 * RAY).state
        >>> r.tic, r.top == 375 * RAY // 100
        (3601, True)
        """
        done, _ = self.status(sale, now)
        if not done:
            raise ClipperReverted("Clipper/cannot-reset")
        top = self._top(feed)
        coin = redo_incentive(sale.tab, sale.lot, feed, self.tip, self.chip, self.chost)
        return Step(replace(sale, tic=now, top=top), coin=coin)


# --- Vow (system surplus and debt) ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Vow:
    """The Vow's balance sheet: queued and unqueued bad debt against surplus DAI.

    Attributes
    ----------
    joy : Rad
        Surplus DAI held by the Vow, ``vat.dai(vow)``.
    awe : Rad
        All bad debt held by the Vow, ``vat.sin(vow)``.
    queue : tuple of (int, Rad)
        The debt queue ``sin[era]``: debt fessed at time ``era``, sorted by era.
    ash : Rad
        Debt on sale in debt (flop) auctions, ``Vow.Ash``.
    wait : int
        Seconds before queued debt can be flogged (156 h on mainnet, 2025).
    bump, hump : Rad
        Surplus-auction lot size and surplus buffer.
    sump : Rad
        Debt-auction bid size (``MAX_UINT256`` on mainnet since 2023: flops disabled).
    dump : Wad
        Initial MKR lot of a debt auction.

    Examples
    --------
    vat.t.sol ``test_floppy_bite``: 100 DAI of bad debt fessed and flogged, ``sump`` 10 DAI: a
    flop is due, and after it 90 DAI of woe are left and 10 on auction:

    >>> RAD = 10**45
    >>> v = Vow(sump=10 * RAD, dump=2_000 * WAD).grab(100 * RAD, now=0).flog(0, now=0)
    >>> v.flop_due, v.flop().woe == 90 * RAD, v.flop().ash == 10 * RAD
    (True, True, True)
    """

    joy: Rad = 0
    awe: Rad = 0
    queue: tuple[tuple[int, Rad], ...] = ()
    ash: Rad = 0
    wait: int = 0
    bump: Rad = 0
    sump: Rad = 0
    dump: Wad = 0
    hump: Rad = 0

    def __post_init__(self) -> None:
        amounts = (self.joy, self.awe, self.ash, self.wait, self.bump, self.sump, self.dump)
        if min((*amounts, self.hump, *(amount for _, amount in self.queue))) < 0:
            raise ValueError(f"expected non-negative balances and parameters, was {self}")

    @property
    def queued(self) -> Rad:
        """Debt still in the queue, ``Vow.Sin``."""
        return sum(amount for _, amount in self.queue)

    @property
    def woe(self) -> Rad:
        """Debt out of the queue and not on auction, ``awe − Sin − Ash`` (what ``heal`` uses)."""
        return self.awe - self.queued - self.ash

    @property
    def surplus(self) -> int:
        """Net system surplus ``joy − awe``, rad; negative is a deficit (Black Thursday)."""
        return self.joy - self.awe

    @property
    def flop_due(self) -> bool:
        """Whether ``flop()`` would start a debt auction: ``sump ≤ woe`` and ``joy == 0``."""
        return self.sump <= self.woe and self.joy == 0

    @property
    def flap_due(self) -> bool:
        """Whether ``flap()`` would start a surplus auction: ``joy ≥ awe + bump + hump``, no woe."""
        return self.joy >= self.awe + self.bump + self.hump and self.woe == 0

    def fess(self, tab: Rad, *, now: int) -> Vow:
        """Return the Vow with ``tab`` pushed onto the debt queue at era ``now``, ``Vow.fess``."""
        if tab < 0:
            raise ValueError(f"expected tab >= 0, was {tab}")
        eras = dict(self.queue)
        eras[now] = eras.get(now, 0) + tab
        return replace(self, queue=tuple(sorted(eras.items())))

    def grab(self, due: Rad, *, now: int) -> Vow:
        """Return the Vow after a liquidation: ``vat.grab`` gives it ``due`` of sin, then ``fess``.

        This is what ``Dog.bark`` and ``Cat.bite`` do with ``due = dart · rate``.
        """
        if due < 0:
            raise ValueError(f"expected due >= 0, was {due}")
        return replace(self, awe=self.awe + due).fess(due, now=now)

    def suck(self, rad: Rad) -> Vow:
        """Return the Vow after ``vat.suck(vow, kpr, rad)``: keeper incentives add bad debt."""
        if rad < 0:
            raise ValueError(f"expected rad >= 0, was {rad}")
        return replace(self, awe=self.awe + rad)

    def receive(self, rad: Rad) -> Vow:
        """Return the Vow after receiving ``rad`` DAI (auction proceeds, stability fees)."""
        if rad < 0:
            raise ValueError(f"expected rad >= 0, was {rad}")
        return replace(self, joy=self.joy + rad)

    def flog(self, era: int, *, now: int) -> Vow:
        """Return the Vow with era ``era`` released from the queue, ``Vow.flog``.

        Raises
        ------
        VowReverted
            ``"Vow/wait-not-finished"`` unless ``era + wait <= now``.
        """
        if not era + self.wait <= now:
            raise VowReverted("Vow/wait-not-finished")
        return replace(self, queue=tuple((e, a) for e, a in self.queue if e != era))

    def heal(self, rad: Rad) -> Vow:
        """Return the Vow after cancelling ``rad`` of surplus against unqueued debt, ``Vow.heal``.

        Raises
        ------
        VowReverted
            ``"Vow/insufficient-surplus"`` if ``rad > joy``; ``"Vow/insufficient-debt"`` if
            ``rad > woe``.

        Examples
        --------
        >>> v = Vow(joy=30, awe=100).heal(30)
        >>> v.joy, v.awe, v.surplus
        (0, 70, -70)
        """
        if rad < 0:
            raise ValueError(f"expected rad >= 0, was {rad}")
        if rad > self.joy:
            raise VowReverted("Vow/insufficient-surplus")
        if rad > self.woe:
            raise VowReverted("Vow/insufficient-debt")
        return replace(self, joy=self.joy - rad, awe=self.awe - rad)

    def kiss(self, rad: Rad) -> Vow:
        """Return the Vow after cancelling surplus against debt on auction, ``Vow.kiss``.

        Raises
        ------
        VowReverted
            ``"Vow/not-enough-ash"``, ``"Vow/insufficient-surplus"``.
        """
        if rad < 0:
            raise ValueError(f"expected rad >= 0, was {rad}")
        if rad > self.ash:
            raise VowReverted("Vow/not-enough-ash")
        if rad > self.joy:
            raise VowReverted("Vow/insufficient-surplus")
        return replace(self, ash=self.ash - rad, joy=self.joy - rad, awe=self.awe - rad)

    def flop(self) -> Vow:
        """Return the Vow after starting a debt auction of ``dump`` MKR for ``sump`` DAI.

        Raises
        ------
        VowReverted
            ``"Vow/insufficient-debt"`` if ``sump > woe``; ``"Vow/surplus-not-zero"``.
        """
        if self.sump > self.woe:
            raise VowReverted("Vow/insufficient-debt")
        if self.joy != 0:
            raise VowReverted("Vow/surplus-not-zero")
        return replace(self, ash=self.ash + self.sump)
