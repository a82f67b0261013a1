"""Maker (dss) as a simulated venue: urns per ilk, the Spotter's OSM price, Jug fees,
liquidations 1.0 (Cat + Flipper) or 2.0 (Dog + Clipper), and the Vow.

Rules (mechanics §3): ``spot = P_OSM / mat`` (§3.2, dss ``src/spot.sol``); an urn is unsafe iff
``ink · spot < art · rate``; ``Cat.bite`` (liquidations 1.0: the launch version of March 2020,
fixed ``lump``, `bite_amounts_lump`; 1.2: ``dunk``/``box``/``litter`` from August 2020,
`bite_amounts`) starts a Flipper auction, ``Dog.bark`` (§3.3, `bark_amounts`) a Clipper
one; bids go through the pure auction transitions of :mod:`.auctions` (``tend``, ``dent``,
``deal``, ``tick``, ``take``, ``redo``), converted to and from wad/ray/rad at this boundary.
Nothing here happens by itself: every bite, bark, bid and settlement is a keeper transaction
that the chain includes as gas allows (:mod:`.keeper`).

Books are vectorized: per ilk, float64 ``ink``/``art`` columns for the risk check and exact
integer (wad) columns, touched only when an urn is bitten, for the contract arithmetic. The Vat's
DAI and gem balances of everyone else (keepers, Flipper, Clipper) are integer ledgers, so DAI
and collateral are conserved exactly: ``Σ dai + joy − Σ Art·rate − awe`` and
``Σ ink + Σ gem + exited`` never change (tests/protocols/lending/maker/test_venue.py).

Jug: ``drip`` runs before every risk check and liquidation: ``rate ← rpow(duty, Δt) · rate``
and the fee ``Art · Δrate`` goes to the Vow as surplus (dss ``src/jug.sol``, ``vat.fold``). An
urn crossing the line by accrued fees alone is found at the next oracle update, not before.

Vow upkeep (``flog``, ``heal``, ``flop``) is permissionless and cheap; it runs in the SETTLE
phase of a block after any auction settled, instead of being a keeper's transaction: queued
debt older than ``wait`` is flogged, surplus heals debt, and while ``flop_due`` a debt auction
of ``sump`` DAI starts (`ReservesChanged` with reason ``flop``; the flop itself, MKR for DAI, is
not simulated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from protosim.clock import Phase
from protosim.context import SimContext
from protosim.events import ROOT, BadDebtRealized, LiquidationExecuted
from protosim.interfaces import Oracle, OracleReading
from protosim.protocols.lending.events import (
    AuctionBidPlaced,
    AuctionSettled,
    AuctionStarted,
    ReservesChanged,
)
from protosim.protocols.lending.governance import refuse_fixed, refuse_fixed_entries
from protosim.protocols.lending.maker.auctions import (
    Asset,
    Clipper,
    ExponentialDecrease,
    FlipBid,
    Flipper,
    LinearDecrease,
    Sale,
    StairstepExponentialDecrease,
    Step,
    Transfer,
    Vow,
)
from protosim.protocols.lending.maker.math import (
    RAD,
    DssReverted,
    bark_amounts,
    bite_amounts,
    bite_amounts_lump,
    feed_price,
    rmul,
    rpow,
    spot_price,
    upchost,
)
from protosim.protocols.lending.maker.params import (
    IlkParams,
    MakerParams,
    UrnPopulationParams,
    VowParams,
)
from protosim.scenario import ComponentSpec
from protosim.units import RAY, WAD

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ClipAuction",
    "FlipAuction",
    "IlkBook",
    "MakerVenue",
    "VatReverted",
    "build",
    "duty_from_annual",
    "to_rad",
    "to_ray",
    "to_wad",
]

_YEAR_S = 365 * 86_400


class VatReverted(DssReverted):
    """A Vat balance would go negative (``vat.move``/``vat.flux`` underflow)."""


def to_wad(x: float) -> int:
    """Return `x` (tokens, a fraction) as a wad, to 1e-9 (nine decimals are kept exactly).

    Floats carry ~16 significant digits, so nine decimals is what a boundary conversion can
    promise for amounts up to ~10 million; the last nine digits of the wad are zero.

    >>> to_wad(1.5) == 15 * 10**17
    True
    >>> to_wad(0.03) == 3 * WAD // 100
    True
    """
    return round(x * 1e9) * 10**9


def to_ray(x: float) -> int:
    """Return `x` as a ray, to 1e-9.

    >>> to_ray(1.13) == 113 * RAY // 100
    True
    """
    return to_wad(x) * 10**9


def to_rad(dai: float) -> int:
    """Return `dai` as a rad (wad precision: the last 27 digits are zero).

    >>> to_rad(2.5) == 25 * RAD // 10
    True
    """
    return to_wad(dai) * RAY


def duty_from_annual(rate_per_year: float) -> int:
    """Return the Jug ``duty`` (ray, per second) compounding to `rate_per_year` over 365 days.

    The executive spells compute it with ``bc -l <<< 'scale=27; e(l(1 + r) / (60·60·24·365))'``
    (makerdao/spells-mainnet ``archive/2020-03-15-DssSpell/DssSpell.sol``); ``bc`` truncates
    each step to 27 decimals, and so does this. 0.5 % is ``1000000000158153903837946257``
    there:

    >>> duty_from_annual(0.005)
    1000000000158153903837946257
    >>> duty_from_annual(0.0) == RAY
    True
    """
    step = Decimal(1).scaleb(-27)
    with localcontext() as c:
        c.prec = 80
        log = (Decimal(1) + Decimal(repr(float(rate_per_year)))).ln()
        log = log.quantize(step, rounding=ROUND_DOWN)
        per_s = (log / _YEAR_S).quantize(step, rounding=ROUND_DOWN)
        return int(per_s.exp().quantize(step, rounding=ROUND_DOWN).scaleb(27))


@dataclass(slots=True)
class FlipAuction:
    """A running Flipper auction and what the venue remembers about it."""

    ilk: str
    state: FlipBid
    account: int
    due: int
    """Debt (rad) the bite moved to the Vow: the auction covers it when ``bid >= due``."""
    start_seq: int
    last_seq: int
    """``seq`` of the latest event of this auction (the cause of the next one)."""
    returned: int = 0
    """Collateral (wad) given back to the urn in the dent phase."""


@dataclass(slots=True)
class ClipAuction:
    """A running Clipper sale and what the venue remembers about it."""

    ilk: str
    state: Sale
    account: int
    due: int
    tab0: int
    """``tab`` at kick, rad."""
    start_seq: int
    last_seq: int
    raised: int = 0
    sold: int = 0
    winner: str = ""


@dataclass(slots=True)
class IlkBook:
    """The urns of one ilk and its liquidation machinery."""

    name: str
    params: IlkParams
    oracle: Oracle
    first_account: int
    ink_wad: list[int]
    art_wad: list[int]
    ink: NDArray[np.float64]
    art: NDArray[np.float64]
    rate: int
    rho: int
    duty: int
    mat: int
    chop_wad: int
    chop_ray: int
    dust: int
    lump: int
    dunk: int
    hole: int
    flipper: Flipper
    clipper: Clipper
    Art: int = 0
    dirt: int = 0
    spot: int = 0
    candidates: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    cause: int = ROOT

    def __len__(self) -> int:
        return len(self.ink_wad)

    @property
    def rate_float(self) -> float:
        """The rate accumulator as a float."""
        return self.rate / RAY

    def set_urn(self, i: int, ink: int, art: int) -> None:
        """Write urn `i`'s exact balances and their float mirrors."""
        self.Art += art - self.art_wad[i]
        self.ink_wad[i] = ink
        self.art_wad[i] = art
        self.ink[i] = ink / WAD
        self.art[i] = art / WAD


def _abacus(ilk: IlkParams) -> StairstepExponentialDecrease | ExponentialDecrease | LinearDecrease:
    calc = ilk.clip.calc
    if calc.kind == "stairstep_exponential":
        return StairstepExponentialDecrease(calc.step_s, to_ray(calc.cut))
    if calc.kind == "exponential":
        return ExponentialDecrease(to_ray(calc.cut))
    return LinearDecrease(calc.tau_s)


def _ilk_terms(
    ilk: IlkParams, flipper: Flipper | None = None, clipper: Clipper | None = None
) -> dict[str, Any]:
    """Return an `IlkBook`'s governance-set fields from `ilk`: the Jug's duty, the Spotter's
    mat, the Vat's dust, the Cat's chop and lump, the Dog's chop, hole and (1.2) dunk, the
    Flipper's beg, ttl and tau, the Clipper's calc, buf, tail, cusp, chip and tip, and its
    cached ``chost``; a given `flipper` and `clipper` are re-filed (their addresses kept).
    """
    chop_wad = to_wad(ilk.chop)
    dust = to_rad(ilk.dust_dai)
    flip: dict[str, Any] = {
        "beg": WAD + to_wad(ilk.flip.beg),
        "ttl": ilk.flip.ttl_s,
        "tau": ilk.flip.tau_s,
    }
    clip: dict[str, Any] = {
        "calc": _abacus(ilk),
        "tail": ilk.clip.tail_s,
        "cusp": to_ray(ilk.clip.cusp),
        "buf": to_ray(ilk.clip.buf),
        "chip": to_wad(ilk.clip.chip),
        "tip": to_rad(ilk.clip.tip_dai),
        # Clipper.upchost: what a spell calls after filing dust or chop.
        "chost": upchost(dust, chop_wad),
    }
    return {
        "duty": duty_from_annual(ilk.duty_per_year),
        "mat": to_ray(ilk.mat),
        "chop_wad": chop_wad,
        "chop_ray": to_ray(ilk.chop),
        "dust": dust,
        "lump": to_wad(ilk.lump),
        "dunk": to_rad(ilk.dunk_dai),
        "hole": to_rad(ilk.hole_dai),
        "flipper": Flipper(**flip) if flipper is None else replace(flipper, **flip),
        "clipper": Clipper(**clip) if clipper is None else replace(clipper, **clip),
    }


def _vow_terms(vow: VowParams) -> dict[str, Any]:
    """Return the Vow's governance-set fields (``Vow.file``): wait, sump, dump, hump, bump."""
    return {
        "wait": vow.wait_s,
        "sump": to_rad(vow.sump_dai),
        "dump": to_wad(vow.dump_mkr),
        "hump": to_rad(vow.hump_dai),
        "bump": to_rad(vow.bump_dai),
    }


_CHANGEABLE = {"ilks", "vow", "hole_dai", "box_dai"}
"""`MakerParams` fields governance files in a running system (the ilks' and the Vow's, see
`_ILK_CHANGEABLE`, and the Dog's and Cat's global limits)."""
_ILK_CHANGEABLE = {
    "mat",
    "chop",
    "duty_per_year",
    "dust_dai",
    "lump",
    "dunk_dai",
    "hole_dai",
    "flip",
    "clip",
}


class MakerVenue:
    """A Maker deployment: ilks of urns, their auctions and the Vow.

    Parameters
    ----------
    ctx : SimContext
        The run's context (its OSMs must already be built).
    venue_id : str
        The venue's id.
    params : MakerParams
        Ilks, liquidation version, Vow and urn populations.
    """

    def __init__(self, ctx: SimContext, venue_id: str, params: MakerParams) -> None:
        self.venue_id = venue_id
        self.params = params
        self._ctx = ctx
        self.chain = ctx.chain(params.chain)
        self.liquidations = params.liquidations
        now = self._now()
        self.ilks: dict[str, IlkBook] = {}
        first = 0
        for name, ilk in params.ilks.items():
            oracle = ctx.oracle(ilk.oracle)
            if oracle.asset != ilk.collateral:
                raise KeyError(
                    f"ilks.{name}.oracle: oracle {ilk.oracle!r} prices {oracle.asset!r}, "
                    f"not {ilk.collateral!r}"
                )
            ink, art = self._populate(name, ilk, oracle.read().price)
            book = IlkBook(
                name=name,
                params=ilk,
                oracle=oracle,
                first_account=first,
                ink_wad=ink,
                art_wad=art,
                ink=np.array([x / WAD for x in ink], dtype=np.float64),
                art=np.array([x / WAD for x in art], dtype=np.float64),
                rate=RAY,
                rho=now,
                **_ilk_terms(ilk),
                Art=sum(art),
            )
            first += len(book)
            self.ilks[name] = book
            oracle.subscribe(self._on_price)
        self.vow = Vow(joy=to_rad(params.vow.surplus_dai), **_vow_terms(params.vow))
        self.hole = to_rad(params.hole_dai)
        self.parameters_seq = ROOT
        """``seq`` of the last governance change: a cause of the urns it makes unsafe."""
        self.dirt = 0
        self.box = to_rad(params.box_dai)
        self.litter = 0
        self.dai: dict[str, int] = {}
        self.joined = 0
        """DAI (rad) joined into the Vat from outside by `deposit_dai`."""
        """Vat DAI (rad) of everyone but the Vow (whose DAI is ``vow.joy``)."""
        self.gem: dict[tuple[str, str], int] = {}
        """Vat collateral (wad) by (ilk, holder), outside urns."""
        self.exited: dict[str, int] = dict.fromkeys(self.ilks, 0)
        self.flips: dict[int, FlipAuction] = {}
        self.sales: dict[int, ClipAuction] = {}
        self.kicks = 0
        self.changed: list[int] = []
        """Ids of auctions in the order calls changed them (keepers read what is new)."""
        self._dirty = True
        self._vow_dirty = False
        self._vow_cause = ROOT
        self._flog_at = -1.0
        self.totals = {
            "bites": 0.0,
            "auctions_started": 0.0,
            "auctions_settled": 0.0,
            "bids": 0.0,
            "collateral_auctioned": 0.0,
            "collateral_sold": 0.0,
            "collateral_returned": 0.0,
            "dai_raised": 0.0,
            "tab_dai": 0.0,
            "debt_liquidated_dai": 0.0,
            "bad_debt_dai": 0.0,
            "zero_bid_wins": 0.0,
            "zero_bid_collateral": 0.0,
            "zero_bid_collateral_usd": 0.0,
            "collateral_sold_usd": 0.0,
            "keeper_incentives_dai": 0.0,
            "fees_dai": 0.0,
            "debt_auctions": 0.0,
            "reverted": 0.0,
        }

    # -- set-up -------------------------------------------------------------------------------

    # -- governance ---------------------------------------------------------------------------

    def check_parameters(self, params: MakerParams) -> None:
        """Raise KeyError (its message starts with the key path) if `params` changes more than
        a spell files in a running system: each ilk's mat (Spotter), duty (Jug), dust (Vat),
        chop, lump, dunk and hole (Cat / Dog), Flipper and Clipper settings, the Vow's wait,
        sump, dump, hump and bump, and the global hole and box. The liquidation contracts in
        use, the ilks, their collateral, oracle and urns, and the Vow's balance are not
        parameters.
        """
        old = self.params
        refuse_fixed(old, params, _CHANGEABLE, running="system")
        refuse_fixed_entries(
            old.ilks, params.ilks, _ILK_CHANGEABLE, key="ilks", what="an ilk", running="system"
        )
        if old.vow.surplus_dai != params.vow.surplus_dai:
            raise KeyError("vow.surplus_dai: the Vow's surplus is a balance, not a parameter")

    def change_parameters(self, params: MakerParams, *, cause: int) -> None:
        """Take `params` from now on, as a spell casting ``file`` calls would (see
        `check_parameters`), naming `cause` as what moved in the urns they make unsafe.

        As the contracts apply them: each Jug ``drip``s before its duty changes (``file``
        requires ``rho == now``), a new mat takes effect at the next ``Spotter.poke`` (the
        next block's check), the Flipper's ttl at each later bid and its tau at each later
        kick or tick, the Clipper's calc on running auctions at once, and the Vow's wait on
        the debt already queued.
        """
        self.check_parameters(params)
        for name, ilk in params.ilks.items():
            book = self.ilks[name]
            self.drip(name)
            for key, value in _ilk_terms(ilk, book.flipper, book.clipper).items():
                setattr(book, key, value)
            book.params = ilk
        self.vow = replace(self.vow, **_vow_terms(params.vow))
        self.hole = to_rad(params.hole_dai)
        self.box = to_rad(params.box_dai)
        self.params = params
        self.parameters_seq = cause
        self.mark_dirty()

    def _now(self) -> int:
        return int(self._ctx.clock.now)

    def _populate(self, name: str, ilk: IlkParams, price: float) -> tuple[list[int], list[int]]:
        ink: list[int] = []
        art: list[int] = []
        for j, pop in enumerate(ilk.populations):
            rng = self._ctx.rng.stream(f"population.{self.venue_id}.{name}.{j}")
            debt, ratio = _draw_urns(pop, rng)
            coll = debt * ratio / price
            ink.extend(to_wad(x) for x in coll)
            art.extend(to_wad(x) for x in debt)  # rate is 1 ray at t = 0: art = debt
        return ink, art

    def start(self) -> None:
        """Check urns in every block's RISK phase after a price moved; keep the Vow in SETTLE."""
        self.chain.on_phase(Phase.RISK, self._check_risk, rank=0)
        self.chain.on_phase(Phase.SETTLE, self._upkeep_vow, rank=0)
        self.chain.request_block()

    def _on_price(self, reading: OracleReading) -> None:
        del reading
        self._dirty = True
        self.chain.request_block()

    # -- Jug, Spotter, risk -------------------------------------------------------------------

    def drip(self, ilk: str) -> None:
        """Accrue the stability fee of `ilk` to now (``Jug.drip``): the Vow gets ``Art·Δrate``."""
        book = self.ilks[ilk]
        now = self._now()
        if now <= book.rho:
            return
        rate = rmul(rpow(book.duty, now - book.rho, RAY), book.rate)
        diff = rate - book.rate
        book.rate, book.rho = rate, now
        if diff and book.Art:
            fee = book.Art * diff
            self.vow = self.vow.receive(fee)
            self.totals["fees_dai"] += fee / RAD

    def poke(self, ilk: str) -> int:
        """Set the ilk's ``spot`` from its OSM (``Spotter.poke``) and return it, ray."""
        book = self.ilks[ilk]
        book.spot = spot_price(to_wad(book.oracle.read().price), RAY, book.mat)
        return book.spot

    def _check_risk(self, block: int) -> None:
        del block
        if not self._dirty:
            return
        self._dirty = False
        for name, book in self.ilks.items():
            self.drip(name)
            spot = self.poke(name) / RAY
            # Float pre-filter with a margin; the exact test is the Cat's/Dog's at the call.
            unsafe = book.ink * spot < book.art * book.rate_float * (1.0 + 1e-12)
            book.candidates = np.flatnonzero(unsafe & (book.art > 0))
            book.cause = max(book.oracle.read().seq, self.parameters_seq)

    def mark_dirty(self) -> None:
        """Have the next block check the urns again (after a bite that may leave one unsafe)."""
        self._dirty = True
        self.chain.request_block()

    def urn_account(self, ilk: str, i: int) -> int:
        """Return the account number of urn `i` of `ilk` in events."""
        return self.ilks[ilk].first_account + i

    # -- balances -----------------------------------------------------------------------------

    def deposit_dai(self, who: str, dai: float) -> None:
        """Give `who` `dai` of Vat DAI joined from outside (``DaiJoin.join``): a keeper's
        starting capital, or what it got selling collateral it won.
        """
        rad = to_rad(dai)
        self.dai[who] = self.dai.get(who, 0) + rad
        self.joined += rad

    def dai_of(self, who: str) -> float:
        """Return `who`'s Vat DAI."""
        return self.dai.get(who, 0) / RAD

    def gem_of(self, ilk: str, who: str) -> int:
        """Return `who`'s Vat collateral of `ilk`, wad."""
        return self.gem.get((ilk, who), 0)

    def exit_gem(self, ilk: str, who: str) -> float:
        """Take all of `who`'s collateral of `ilk` out of the Vat (``GemJoin.exit``), tokens."""
        amount = self.gem.pop((ilk, who), 0)
        self.exited[ilk] += amount
        return amount / WAD

    def _apply(self, ilk: str, transfers: tuple[Transfer, ...]) -> None:
        # Check every payer first: a vat.move/flux underflow reverts the whole call.
        need: dict[tuple[Asset, str], int] = {}
        for t in transfers:
            need[(t.asset, t.src)] = need.get((t.asset, t.src), 0) + t.amount
        for (asset, src), amount in need.items():
            if asset is Asset.DAI and self.dai.get(src, 0) < amount:
                raise VatReverted("Vat/insufficient-dai")
            if asset is Asset.GEM and self.gem.get((ilk, src), 0) < amount:
                raise VatReverted("Vat/insufficient-gem")
        for t in transfers:
            if t.asset is Asset.DAI:
                self.dai[t.src] -= t.amount
                if t.dst == "vow":
                    self.vow = self.vow.receive(t.amount)
                else:
                    self.dai[t.dst] = self.dai.get(t.dst, 0) + t.amount
            else:
                self.gem[(ilk, t.src)] -= t.amount
                if t.dst.startswith("urn:"):
                    i = int(t.dst.rsplit(":", 1)[1])
                    book = self.ilks[ilk]
                    book.set_urn(i, book.ink_wad[i] + t.amount, book.art_wad[i])
                else:
                    self.gem[(ilk, t.dst)] = self.gem.get((ilk, t.dst), 0) + t.amount

    def dai_invariant(self) -> int:
        """Return ``Σ dai − joined + joy − Σ Art·rate − awe``, rad: constant through every call
        (the Vat's ``debt = vice + Σ Art·rate``, with the urns' own DAI held outside and DAI
        joined from outside counted in `joined`).
        """
        debt = sum(b.Art * b.rate for b in self.ilks.values())
        return sum(self.dai.values()) - self.joined + self.vow.joy - debt - self.vow.awe

    def gem_total(self, ilk: str) -> int:
        """Return all collateral of `ilk` ever in the Vat: urns, balances and exits, wad."""
        held = sum(v for (i, _), v in self.gem.items() if i == ilk)
        return sum(self.ilks[ilk].ink_wad) + held + self.exited[ilk]

    # -- prices for reporting -----------------------------------------------------------------

    def _dai_usd(self) -> float:
        asset = self.params.dai_asset
        return 1.0 if asset is None else self._ctx.market.price(asset)

    def _coll_usd(self, ilk: str) -> float:
        return self._ctx.market.price(self.ilks[ilk].params.collateral)

    def osm_price(self, ilk: str) -> float:
        """Return the ilk's OSM price (what the Spotter reads), USD."""
        return self.ilks[ilk].oracle.read().price

    # -- liquidations 1.0: Cat.bite and the Flipper -------------------------------------------

    def bite(self, ilk: str, i: int, *, keeper: str, cause: int) -> int:
        """Liquidate urn `i` (``Cat.bite``) and kick a Flipper auction.

        Liquidations ``1.0``: one ``lump`` of collateral (`bite_amounts_lump`, the launch Cat);
        ``1.2``: up to ``dunk`` of tab within the ``box`` room (`bite_amounts`).

        Returns
        -------
        int
            The auction id.

        Raises
        ------
        DssReverted
            ``Cat/not-unsafe`` and the other reverts of `bite_amounts_lump` / `bite_amounts`.
        """
        if self.liquidations not in ("1.0", "1.2"):
            raise DssReverted("Cat/not-live")
        book = self.ilks[ilk]
        self.drip(ilk)
        ink, art = book.ink_wad[i], book.art_wad[i]
        spot = book.spot or self.poke(ilk)
        if self.liquidations == "1.0":
            b = bite_amounts_lump(
                ink=ink, art=art, rate=book.rate, spot=spot, lump=book.lump, chop=book.chop_ray
            )
        else:
            b = bite_amounts(
                ink=ink, art=art, rate=book.rate, spot=spot, dust=book.dust, chop=book.chop_wad,
                dunk=book.dunk, box=self.box, litter=self.litter,
            )  # fmt: skip
            self.litter += b.tab
        book.set_urn(i, ink - b.dink, art - b.dart)
        self.vow = self.vow.grab(b.due, now=self._now())
        self.gem[(ilk, "cat")] = self.gem.get((ilk, "cat"), 0) + b.dink
        self.kicks += 1
        step = book.flipper.kick(
            id=self.kicks,
            usr=f"urn:{ilk}:{i}",
            gal="vow",
            tab=b.tab,
            lot=b.dink,
            now=self._now(),
        )
        self._apply(ilk, step.transfers)
        assert step.state is not None  # kick always returns the auction
        liquidated = self._liquidated(ilk, i, ink, art, spot, b.dink, b.due, keeper, cause)
        seq = self._started(ilk, i, "flip", b.dink, b.tab, 0, keeper, 0, b.due, liquidated)
        self.flips[self.kicks] = FlipAuction(ilk, step.state, i, b.due, seq, seq)
        self.totals["bites"] += 1
        self.changed.append(self.kicks)
        return self.kicks

    def _liquidated(
        self,
        ilk: str,
        i: int,
        ink: int,
        art: int,
        spot: int,
        dink: int,
        due: int,
        keeper: str,
        cause: int,
    ) -> int:
        # The shared record of a liquidation, so Maker's appear with every other venue's
        # (RunResult.liquidations, the contagion graph): the urn's debt ``due = dart · rate``
        # moved to the Vow and ``dink`` of collateral moved to the auction. The liquidator is
        # the bite/bark caller; nothing is repaid yet (the auction raises the tab later).
        book = self.ilks[ilk]
        dai_usd = self._dai_usd()
        debt = due / RAD
        seized = dink / WAD
        # ink · spot / (art · rate): 1 at the liquidation ratio `mat`, as a health factor.
        health = (ink / WAD) * (spot / RAY) / max((art / WAD) * (book.rate / RAY), 1e-300)
        return self._ctx.log.emit(
            LiquidationExecuted,
            cause=cause,
            venue=self.venue_id,
            account=book.first_account + i,
            liquidator=keeper,
            collateral_asset=book.params.collateral,
            debt_asset="DAI",
            debt_repaid=debt,
            collateral_seized=seized,
            protocol_fee=0.0,
            debt_repaid_usd=debt * dai_usd,
            collateral_seized_usd=seized * self.osm_price(ilk),
            health_before=health,
        )

    def _started(
        self,
        ilk: str,
        i: int,
        kind: str,
        lot: int,
        tab: int,
        top: int,
        keeper: str,
        coin: int,
        due: int,
        cause: int,
    ) -> int:
        book = self.ilks[ilk]
        dai_usd = self._dai_usd()
        # emit_batch: AuctionStarted has a field named ``kind``, emit's own first parameter.
        seq = self._ctx.log.emit_batch(
            AuctionStarted,
            1,
            cause=cause,
            venue=self.venue_id,
            auction=self.kicks,
            account=book.first_account + i,
            kind=kind,
            collateral_asset=book.params.collateral,
            lot=lot / WAD,
            tab=tab / RAD,
            tab_usd=tab / RAD * dai_usd,
            start_price=top / RAY,
            keeper=keeper,
            incentive_usd=coin / RAD * dai_usd,
        )
        if due:
            self._ctx.log.emit(
                ReservesChanged,
                cause=seq,
                venue=self.venue_id,
                asset="DAI",
                amount=-due / RAD,
                amount_usd=-due / RAD * dai_usd,
                balance=self.vow.surplus / RAD,
                reason="vow_fess",
            )
            self.totals["debt_liquidated_dai"] += due / RAD
        self.totals["auctions_started"] += 1
        self.totals["collateral_auctioned"] += lot / WAD
        self.totals["tab_dai"] += tab / RAD
        self.totals["keeper_incentives_dai"] += coin / RAD
        return seq

    def tend(self, auction: int, *, who: str, bid: int) -> None:
        """Bid `bid` rad for the whole lot (``Flipper.tend``)."""
        a = self._flip(auction)
        step = self.ilks[a.ilk].flipper.tend(
            a.state, guy=who, lot=a.state.lot, bid=bid, now=self._now()
        )
        self._bid_placed(a, step, who, "tend")

    def dent(self, auction: int, *, who: str, lot: int) -> None:
        """Accept `lot` wad for the full tab (``Flipper.dent``)."""
        a = self._flip(auction)
        step = self.ilks[a.ilk].flipper.dent(
            a.state, guy=who, lot=lot, bid=a.state.bid, now=self._now()
        )
        self._bid_placed(a, step, who, "dent")

    def _flip(self, auction: int) -> FlipAuction:
        try:
            return self.flips[auction]
        except KeyError:
            # The contract reads an empty bid: guy == 0, and every call reverts.
            raise DssReverted("Flipper/guy-not-set") from None

    def _bid_placed(self, a: FlipAuction, step: Step[FlipBid], who: str, action: str) -> None:
        self._apply(a.ilk, step.transfers)
        assert step.state is not None
        a.returned += a.state.lot - step.state.lot
        a.state = step.state
        self.changed.append(a.state.id)
        bid = a.state.bid / RAD
        lot = a.state.lot / WAD
        a.last_seq = self._ctx.log.emit(
            AuctionBidPlaced,
            cause=a.start_seq,
            venue=self.venue_id,
            auction=a.state.id,
            bidder=who,
            action=action,
            lot=lot,
            bid=bid,
            bid_usd=bid * self._dai_usd(),
            price=bid / lot if lot > 0 else 0.0,
        )
        self.totals["bids"] += 1

    def deal(self, auction: int) -> int:
        """Settle a finished flip auction (``Flipper.deal``, anyone may call it); return the
        ``seq`` of its `AuctionSettled`.
        """
        a = self._flip(auction)
        step = self.ilks[a.ilk].flipper.deal(a.state, now=self._now())
        self._apply(a.ilk, step.transfers)
        del self.flips[auction]
        self.changed.append(auction)
        if self.liquidations == "1.2":
            self.litter -= step.digs  # Cat.claw(tab)
        s = a.state
        return self._settled(
            a.ilk, a.account, s.id, s.guy, s.lot, s.bid, s.tab, a.returned, a.due, a.last_seq
        )

    def tick(self, auction: int) -> None:
        """Restart an expired flip auction that got no bid (``Flipper.tick``)."""
        a = self._flip(auction)
        step = self.ilks[a.ilk].flipper.tick(a.state, now=self._now())
        assert step.state is not None
        a.state = step.state
        self.changed.append(auction)

    def _settled(
        self,
        ilk: str,
        account: int,
        auction: int,
        winner: str,
        lot: int,
        raised: int,
        tab: int,
        returned: int,
        due: int,
        cause: int,
    ) -> int:
        dai_usd = self._dai_usd()
        value = lot / WAD * self._coll_usd(ilk)
        book = self.ilks[ilk]
        seq = self._ctx.log.emit(
            AuctionSettled,
            cause=cause,
            venue=self.venue_id,
            auction=auction,
            winner=winner,
            lot_sold=lot / WAD,
            raised=raised / RAD,
            raised_usd=raised / RAD * dai_usd,
            tab=tab / RAD,
            collateral_returned=returned / WAD,
            shortfall=max(tab - raised, 0) / RAD,
            collateral_value_usd=value,
        )
        t = self.totals
        t["auctions_settled"] += 1
        t["collateral_sold"] += lot / WAD
        t["collateral_sold_usd"] += value
        t["collateral_returned"] += returned / WAD
        t["dai_raised"] += raised / RAD
        if lot > 0 and raised < RAD:
            # Won for less than one DAI: Black Thursday's "zero bids" (1 rad, flip.sol needs > 0).
            t["zero_bid_wins"] += 1
            t["zero_bid_collateral"] += lot / WAD
            t["zero_bid_collateral_usd"] += value
        if raised < due:
            loss = (due - raised) / RAD
            t["bad_debt_dai"] += loss
            self._ctx.log.emit(
                BadDebtRealized,
                cause=seq,
                venue=self.venue_id,
                account=book.first_account + account,
                asset="DAI",
                amount=loss,
                amount_usd=loss * dai_usd,
                treatment="vow",
            )
        self._vow_dirty = True
        self._vow_cause = seq
        self.chain.request_block()
        return seq

    # -- liquidations 2.0: Dog.bark and the Clipper -------------------------------------------

    def bark(self, ilk: str, i: int, *, keeper: str, cause: int) -> int:
        """Liquidate urn `i` within the hole room (``Dog.bark``) and kick a Clipper sale.

        Returns
        -------
        int
            The sale id.

        Raises
        ------
        DssReverted
            ``Dog/not-unsafe`` and the other reverts of `bark_amounts`.
        """
        if self.liquidations != "2.0":
            raise DssReverted("Dog/not-live")
        book = self.ilks[ilk]
        self.drip(ilk)
        ink, art = book.ink_wad[i], book.art_wad[i]
        c = book.clipper
        spot = book.spot or self.poke(ilk)
        b = bark_amounts(
            ink=ink, art=art, rate=book.rate, spot=spot, dust=book.dust,
            chop=book.chop_wad, ilk_hole=book.hole, ilk_dirt=book.dirt, global_hole=self.hole,
            global_dirt=self.dirt, tip=c.tip, chip=c.chip,
        )  # fmt: skip
        feed = feed_price(to_wad(self.osm_price(ilk)), RAY)
        self.kicks += 1
        step = c.kick(
            id=self.kicks,
            tab=b.tab,
            lot=b.dink,
            usr=f"urn:{ilk}:{i}",
            kpr=keeper,
            now=self._now(),
            feed=feed,
        )
        assert step.state is not None
        book.set_urn(i, ink - b.dink, art - b.dart)
        self.vow = self.vow.grab(b.due, now=self._now())
        self.gem[(ilk, c.address)] = self.gem.get((ilk, c.address), 0) + b.dink
        self.dirt += b.tab
        book.dirt += b.tab
        self._suck(keeper, step.coin)
        liquidated = self._liquidated(ilk, i, ink, art, spot, b.dink, b.due, keeper, cause)
        seq = self._started(
            ilk, i, "clip", b.dink, b.tab, step.state.top, keeper, step.coin, b.due, liquidated
        )
        self.sales[self.kicks] = ClipAuction(ilk, step.state, i, b.due, b.tab, seq, seq)
        self.totals["bites"] += 1
        self.changed.append(self.kicks)
        return self.kicks

    def _suck(self, who: str, coin: int) -> None:
        if coin:
            self.vow = self.vow.suck(coin)
            self.dai[who] = self.dai.get(who, 0) + coin

    def _sale(self, auction: int) -> ClipAuction:
        try:
            return self.sales[auction]
        except KeyError:
            raise DssReverted("Clipper/not-running-auction") from None

    def sale_price(self, auction: int) -> tuple[bool, float]:
        """Return ``(needsRedo, price)`` of a running sale now (``Clipper.getStatus``), USD."""
        a = self._sale(auction)
        done, price = self.ilks[a.ilk].clipper.status(a.state, self._now())
        return done, price / RAY

    def take(self, auction: int, *, who: str, amt: int, max_price: int) -> int:
        """Buy up to `amt` wad at the current price if it is at most `max_price` ray
        (``Clipper.take``); return the ``seq`` of the last event it logged.
        """
        a = self._sale(auction)
        book = self.ilks[a.ilk]
        before = a.state
        step = book.clipper.take(before, amt=amt, max_price=max_price, who=who, now=self._now())
        self._apply(a.ilk, step.transfers)
        self.changed.append(auction)
        slice_ = sum(t.amount for t in step.transfers if t.asset is Asset.GEM and t.dst == who)
        owe = sum(t.amount for t in step.transfers if t.asset is Asset.DAI)
        returned = sum(
            t.amount for t in step.transfers if t.asset is Asset.GEM and t.dst.startswith("urn:")
        )
        self.dirt -= step.digs
        book.dirt -= step.digs
        a.raised += owe
        a.sold += slice_
        a.winner = who
        dai = owe / RAD
        a.last_seq = self._ctx.log.emit(
            AuctionBidPlaced,
            cause=a.start_seq,
            venue=self.venue_id,
            auction=a.state.id,
            bidder=who,
            action="take",
            lot=slice_ / WAD,
            bid=dai,
            bid_usd=dai * self._dai_usd(),
            price=dai / (slice_ / WAD) if slice_ else 0.0,
        )
        self.totals["bids"] += 1
        if step.state is None:
            del self.sales[auction]
            return self._settled(
                a.ilk, a.account, a.state.id, who, a.sold, a.raised, a.tab0, returned, a.due,
                a.last_seq,
            )  # fmt: skip
        a.state = step.state
        return a.last_seq

    def redo(self, auction: int, *, kpr: str) -> None:
        """Restart a sale that needs it at the current OSM price (``Clipper.redo``)."""
        a = self._sale(auction)
        book = self.ilks[a.ilk]
        feed = feed_price(to_wad(self.osm_price(a.ilk)), RAY)
        step = book.clipper.redo(a.state, kpr=kpr, now=self._now(), feed=feed)
        assert step.state is not None
        a.state = step.state
        self.changed.append(auction)
        self._suck(kpr, step.coin)
        s = step.state
        a.start_seq = a.last_seq = self._ctx.log.emit_batch(
            AuctionStarted,
            1,
            cause=a.last_seq,
            venue=self.venue_id,
            auction=s.id,
            account=book.first_account + a.account,
            kind="redo",
            collateral_asset=book.params.collateral,
            lot=s.lot / WAD,
            tab=s.tab / RAD,
            tab_usd=s.tab / RAD * self._dai_usd(),
            start_price=s.top / RAY,
            keeper=kpr,
            incentive_usd=step.coin / RAD * self._dai_usd(),
        )
        self.totals["keeper_incentives_dai"] += step.coin / RAD

    # -- the Vow ------------------------------------------------------------------------------

    def _upkeep_vow(self, block: int) -> None:
        del block
        if not self._vow_dirty:
            return
        self._vow_dirty = False
        now = self._now()
        v = self.vow
        for era, _ in v.queue:
            if era + v.wait <= now:
                v = v.flog(era, now=now)
        heal = min(v.joy, v.woe)
        if heal > 0:
            v = v.heal(heal)
        dai_usd = self._dai_usd()
        while v.flop_due:
            v = v.flop()
            self.totals["debt_auctions"] += 1
            self._ctx.log.emit(
                ReservesChanged,
                cause=self._vow_cause,
                venue=self.venue_id,
                asset="DAI",
                amount=v.sump / RAD,
                amount_usd=v.sump / RAD * dai_usd,
                balance=v.surplus / RAD,
                reason="flop",
            )
        self.vow = v
        # Queued debt still waiting for `wait` needs another look when it has passed.
        if v.queue:
            due = float(v.queue[0][0] + v.wait) + 1.0
            if due > now and due != self._flog_at:
                self._flog_at = due
                self._ctx.clock.call_at(due, f"venue.{self.venue_id}.flog", self._wake_vow)

    def _wake_vow(self) -> None:
        self._vow_dirty = True
        self.chain.request_block()

    # -- reporting ----------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """Return liquidation and auction totals, the Vow's balance sheet and the book's size."""
        out = dict(self.totals)
        v = self.vow
        out["vow_surplus_dai"] = v.joy / RAD
        out["vow_debt_dai"] = v.awe / RAD
        out["vow_net_dai"] = v.surplus / RAD
        out["vow_deficit_dai"] = max(-v.surplus, 0) / RAD
        out["vow_queued_dai"] = v.queued / RAD
        out["vow_on_flop_dai"] = v.ash / RAD
        out["flop_due"] = float(v.flop_due)
        # What the Vow would do once every queued debt has waited `wait`: flog all, heal.
        later = replace(v, queue=())
        heal = min(later.joy, later.woe)
        later = later.heal(heal) if heal > 0 else later
        out["flop_due_after_wait"] = float(later.flop_due or v.ash > 0)
        out["flop_lots_due"] = float((later.woe + v.ash) // v.sump) if v.sump else 0.0
        out["zero_bid_share"] = (
            out["zero_bid_wins"] / out["auctions_settled"] if out["auctions_settled"] else 0.0
        )
        out["urns"] = float(sum(len(b) for b in self.ilks.values()))
        out["debt_dai"] = float(sum(b.Art * b.rate for b in self.ilks.values()) / RAD)
        out["collateral_usd"] = float(
            sum(b.ink.sum() * self._coll_usd(n) for n, b in self.ilks.items())
        )
        out["auctions_running"] = float(len(self.flips) + len(self.sales))
        return out

    def positions_frame(self) -> pd.DataFrame:
        """Return every urn now: ``venue, ilk, account, ink, art, debt, collateral_usd,
        collateral_ratio`` (at the OSM price).
        """
        import pandas as pd

        frames = []
        for name, book in self.ilks.items():
            debt = book.art * book.rate_float
            price = self.osm_price(name)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(debt > 0, book.ink * price / debt, math.inf)
            frames.append(
                pd.DataFrame(
                    {
                        "venue": self.venue_id,
                        "ilk": name,
                        "account": np.arange(len(book)) + book.first_account,
                        "ink": book.ink,
                        "art": book.art,
                        "debt": debt,
                        "collateral_usd": book.ink * self._coll_usd(name),
                        "collateral_ratio": ratio,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def priced_by(self) -> dict[str, tuple[str, ...]]:
        """Return the oracle id each collateral's price comes from."""
        return {b.params.collateral: (b.params.oracle,) for b in self.ilks.values()}

    @property
    def chain_id(self) -> str:
        """The chain the venue lives on."""
        return self.params.chain


def _draw_urns(
    pop: UrnPopulationParams, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = pop.urns
    size = pop.debt_dai
    debt = size.draw(rng, n)
    debt *= pop.total_debt_dai / debt.sum()
    shares = np.array([b.debt_share for b in pop.collateral_ratio])
    bucket = rng.choice(len(shares), size=n, p=shares / shares.sum())
    low = np.array([b.low for b in pop.collateral_ratio])[bucket]
    high = np.array([b.high for b in pop.collateral_ratio])[bucket]
    ratio = low + (high - low) * rng.random(n)
    return debt, ratio


def build(ctx: SimContext, spec: ComponentSpec, params: MakerParams, where: str) -> MakerVenue:
    """Build a `MakerVenue` from its scenario entry."""
    del where
    return MakerVenue(ctx, spec.id, params)
