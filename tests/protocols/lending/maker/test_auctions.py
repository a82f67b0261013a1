"""Worked sequences of the Flipper, Clipper and Vow state machines.

Expected numbers come from makerdao/dss's tests at fa4f6630 (``src/test/flip.t.sol``,
``src/test/clip.t.sol``, ``src/test/vat.t.sol``'s ``BiteTest``), named per test as
``file::function``, or from hand derivations written out in the test. Balances are rebuilt from
the returned transfers with a small ledger, so every sequence also checks who paid whom.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

import pytest

from protosim.protocols.lending.maker.auctions import (
    Asset,
    Clipper,
    FlipBid,
    Flipper,
    FlipPhase,
    LinearDecrease,
    Sale,
    StairstepExponentialDecrease,
    Step,
    Transfer,
    Vow,
)
from protosim.protocols.lending.maker.math import (
    RAD,
    CatReverted,
    ClipperReverted,
    FlipperReverted,
    VowReverted,
    bite_amounts,
    bite_amounts_lump,
    spot_price,
)
from protosim.units import RAY, WAD

ETHER = WAD
HOUR = 3_600
T0 = 604_411_200  # dss tests: hevm.warp(604411200)


def ray(wad: int) -> int:
    return wad * 10**9


def rad(wad: int) -> int:
    return wad * 10**27


class Ledger:
    """Vat balances per (asset, account), built from `Transfer`s; refuses overdrafts of bidders."""

    def __init__(self, **dai: int) -> None:
        self.bal: Counter[tuple[Asset, str]] = Counter()
        for who, amount in dai.items():
            self.bal[Asset.DAI, who] = amount

    def apply(self, transfers: Iterable[Transfer], *, mint_from: tuple[str, ...] = ()) -> None:
        for t in transfers:
            assert t.amount > 0
            if t.src not in mint_from:
                assert self.bal[t.asset, t.src] >= t.amount, f"overdraft by {t.src}"
            self.bal[t.asset, t.src] -= t.amount
            self.bal[t.asset, t.dst] += t.amount

    def dai(self, who: str) -> int:
        return self.bal[Asset.DAI, who]

    def gem(self, who: str) -> int:
        return self.bal[Asset.GEM, who]


def _run(ledger: Ledger, step: Step[FlipBid]) -> FlipBid:
    ledger.apply(step.transfers, mint_from=("me",))
    assert step.state is not None
    return step.state


# --- Flipper ----------------------------------------------------------------------------------

FLIP = Flipper()  # flip.sol defaults: beg 5 %, ttl 3 h, tau 2 days


def _kick(
    ledger: Ledger, *, tab: int = 50 * ETHER, lot: int = 100 * ETHER, now: int = T0
) -> FlipBid:
    return _run(
        ledger, FLIP.kick(id=1, usr="usr", gal="gal", tab=tab, lot=lot, now=now, kicker="me")
    )


def test_flipper_defaults_are_flip_sol_constructor_values():
    """flip.sol: beg = 1.05E18, ttl = 3 hours, tau = 2 days."""
    assert (FLIP.beg, FLIP.ttl, FLIP.tau) == (105 * WAD // 100, 3 * HOUR, 2 * 86_400)


def test_flipper_tend_refunds_previous_bidder_and_pays_gal():
    """flip.t.sol::test_tend: ali bids 1, bob 2; ali is refunded, gal holds 2; bob wins the lot."""
    ledger = Ledger(ali=200 * ETHER, bob=200 * ETHER)
    a = _kick(ledger)
    a = _run(ledger, FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=1 * ETHER, now=T0))
    assert (ledger.dai("ali"), ledger.dai("gal")) == (199 * ETHER, 1 * ETHER)
    a = _run(ledger, FLIP.tend(a, guy="bob", lot=100 * ETHER, bid=2 * ETHER, now=T0))
    assert (ledger.dai("bob"), ledger.dai("ali"), ledger.dai("gal")) == (
        198 * ETHER,
        200 * ETHER,
        2 * ETHER,
    )
    done = FLIP.deal(a, now=T0 + 5 * HOUR)
    ledger.apply(done.transfers)
    assert done.state is None
    assert ledger.gem("bob") == 100 * ETHER


def test_flipper_tend_later_within_tau():
    """flip.t.sol::test_tend_later: a first bid 5 hours after kick is still accepted."""
    ledger = Ledger(ali=200 * ETHER)
    a = _kick(ledger)
    _run(ledger, FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=1 * ETHER, now=T0 + 5 * HOUR))
    assert (ledger.dai("ali"), ledger.dai("gal")) == (199 * ETHER, 1 * ETHER)


def test_flipper_dent_returns_collateral_to_usr():
    """flip.t.sol::test_dent: bob's full bid of 50, ali dents to 95: 5 gems to usr, bob refunded."""
    ledger = Ledger(ali=200 * ETHER, bob=200 * ETHER)
    a = _kick(ledger)
    a = _run(ledger, FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=1 * ETHER, now=T0))
    a = _run(ledger, FLIP.tend(a, guy="bob", lot=100 * ETHER, bid=50 * ETHER, now=T0))
    assert a.phase is FlipPhase.DENT
    _run(ledger, FLIP.dent(a, guy="ali", lot=95 * ETHER, bid=50 * ETHER, now=T0))
    assert ledger.gem("usr") == 5 * ETHER
    assert (ledger.dai("ali"), ledger.dai("bob")) == (150 * ETHER, 200 * ETHER)


def test_flipper_same_bidder_pays_only_the_increase():
    """flip.t.sol::test_tend_dent_same_bidder: ali 190 then 200 pays 200 in all, then dents."""
    ledger = Ledger(ali=200 * ETHER)
    a = _kick(ledger, tab=200 * ETHER)
    a = _run(ledger, FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=190 * ETHER, now=T0))
    assert ledger.dai("ali") == 10 * ETHER
    a = _run(ledger, FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=200 * ETHER, now=T0))
    assert ledger.dai("ali") == 0
    a = _run(ledger, FLIP.dent(a, guy="ali", lot=80 * ETHER, bid=200 * ETHER, now=T0))
    assert (a.lot, ledger.gem("usr")) == (80 * ETHER, 20 * ETHER)


def test_flipper_beg_sequence():
    """flip.t.sol::test_beg: +5 % steps in tend, any step to tab, −5 % steps in dent."""
    ledger = Ledger(ali=200 * ETHER, bob=200 * ETHER)
    a = _kick(ledger)

    def tend(a: FlipBid, guy: str, bid: int) -> FlipBid:
        return _run(ledger, FLIP.tend(a, guy=guy, lot=100 * ETHER, bid=bid, now=T0))

    a = tend(a, "ali", 1 * ETHER)
    for guy in ("bob", "ali"):  # high bidder is subject to beg too
        with pytest.raises(FlipperReverted, match="Flipper/insufficient-increase"):
            tend(a, guy, 101 * ETHER // 100)
    a = tend(a, "bob", 107 * ETHER // 100)
    a = tend(a, "ali", 49 * ETHER)
    a = tend(a, "bob", 50 * ETHER)  # 50 < 1.05 × 49, but equals tab
    with pytest.raises(FlipperReverted, match="Flipper/lot-not-lower"):
        FLIP.dent(a, guy="ali", lot=100 * ETHER, bid=50 * ETHER, now=T0)
    with pytest.raises(FlipperReverted, match="Flipper/insufficient-decrease"):
        FLIP.dent(a, guy="ali", lot=99 * ETHER, bid=50 * ETHER, now=T0)  # 1.05 × 99 > 100
    FLIP.dent(a, guy="ali", lot=95 * ETHER, bid=50 * ETHER, now=T0)  # 1.05 × 95 = 99.75


def test_flipper_tend_above_tab_and_wrong_lot_revert():
    """flip.sol tend: bid ≤ tab and lot == the auction's lot."""
    a = _kick(Ledger())
    with pytest.raises(FlipperReverted, match="Flipper/higher-than-tab"):
        FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=51 * ETHER, now=T0)
    with pytest.raises(FlipperReverted, match="Flipper/lot-not-matching"):
        FLIP.tend(a, guy="ali", lot=99 * ETHER, bid=1 * ETHER, now=T0)
    with pytest.raises(FlipperReverted, match="Flipper/tend-not-finished"):
        FLIP.dent(a, guy="ali", lot=99 * ETHER, bid=0, now=T0)


def test_flipper_deal_after_ttl_or_end():
    """flip.t.sol::test_deal: deal after the bid's ttl (4.1 h), or after end (kick + 2 days)."""
    ledger = Ledger(ali=200 * ETHER)
    a = _kick(ledger)
    a = _run(ledger, FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=1 * ETHER, now=T0))
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.deal(a, now=T0)
    assert FLIP.deal(a, now=T0 + int(4.1 * HOUR)).state is None
    t1 = T0 + int(4.1 * HOUR)
    b = _kick(ledger, now=t1)
    b = _run(ledger, FLIP.tend(b, guy="ali", lot=100 * ETHER, bid=1 * ETHER, now=t1 + 44 * HOUR))
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.deal(b, now=t1 + 44 * HOUR)
    assert FLIP.deal(b, now=t1 + 68 * HOUR).state is None


def test_flipper_no_bid_after_ttl_boundary():
    """flip.sol: at now == tic neither tend (needs tic > now) nor deal (needs tic < now) passes."""
    a = _kick(Ledger(ali=10 * ETHER))
    a = FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=ETHER, now=T0).state
    assert a is not None
    with pytest.raises(FlipperReverted, match="Flipper/already-finished-tic"):
        FLIP.tend(a, guy="bob", lot=100 * ETHER, bid=2 * ETHER, now=a.tic)
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.deal(a, now=a.tic)
    assert FLIP.deal(a, now=a.tic + 1).digs == 50 * ETHER


def test_flipper_tick_restarts_auction_without_bids():
    """flip.t.sol::test_tick: no tick before end; after 2 weeks tend fails, tick, tend succeeds."""
    a = _kick(Ledger())
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.tick(a, now=T0)
    later = T0 + 14 * 86_400
    with pytest.raises(FlipperReverted, match="Flipper/already-finished-end"):
        FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=ETHER, now=later)
    a = FLIP.tick(a, now=later).state
    assert a is not None
    assert a.end == later + FLIP.tau
    b = FLIP.tend(a, guy="ali", lot=100 * ETHER, bid=ETHER, now=later).state
    assert b is not None
    with pytest.raises(FlipperReverted, match="Flipper/bid-already-placed"):
        FLIP.tick(b, now=b.end + 1)


def test_flipper_no_deal_after_end_without_bids():
    """flip.t.sol::test_no_deal_after_end: an auction with no bid never deals; it only ticks."""
    a = _kick(Ledger())
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.deal(a, now=T0)
    later = T0 + 14 * 86_400
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.deal(a, now=later)
    a = FLIP.tick(a, now=later).state
    assert a is not None
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.deal(a, now=later)


def test_happy_bite_then_flip_then_vow():
    """vat.t.sol::test_happy_bite: bite 40 gold for 110; tend 1, 110; dent 38; deal: Vow +110."""
    b = bite_amounts(
        ink=40 * ETHER,
        art=100 * ETHER,
        rate=RAY,
        spot=ray(2 * ETHER),
        dust=0,
        chop=11 * WAD // 10,
        dunk=rad(200 * ETHER),
        box=rad(10**7 * ETHER),
        litter=0,
    )
    litter = b.tab
    assert litter == rad(110 * ETHER)
    vow = Vow().grab(b.due, now=T0)
    assert vow.queue == ((T0, rad(100 * ETHER)),)  # vow.sin(now)
    ledger = Ledger(me=rad(200 * ETHER))
    a = FLIP.kick(id=1, usr="me", gal="vow", tab=b.tab, lot=b.dink, now=T0, kicker="cat")
    ledger.apply(a.transfers, mint_from=("cat",))
    s = FLIP.tend(a.state, guy="me", lot=40 * ETHER, bid=rad(1 * ETHER), now=T0)
    ledger.apply(s.transfers)
    s = FLIP.tend(s.state, guy="me", lot=40 * ETHER, bid=rad(110 * ETHER), now=T0)
    ledger.apply(s.transfers)
    assert ledger.dai("me") == rad(90 * ETHER)
    s = FLIP.dent(s.state, guy="me", lot=38 * ETHER, bid=rad(110 * ETHER), now=T0)
    ledger.apply(s.transfers)
    assert ledger.gem("me") == 2 * ETHER  # 960 + 2 in the test, gem outside the vault
    done = FLIP.deal(s.state, now=T0 + 4 * HOUR)
    ledger.apply(done.transfers)
    litter -= done.digs
    vow = vow.receive(ledger.dai("vow"))
    assert (litter, vow.joy, ledger.gem("me")) == (0, rad(110 * ETHER), 40 * ETHER)


def test_partial_litterbox_multiple_bites():
    """vat.t.sol::test_partial_litterbox_multiple_bites: box 75 takes a 150 vault in two rounds."""
    ink, art, litter, box = 100 * ETHER, 150 * ETHER, 0, rad(75 * ETHER)
    ledger = Ledger(me=rad(150 * ETHER))
    vow = Vow()
    cat = {"rate": RAY, "spot": RAY, "dust": 0, "chop": WAD, "dunk": rad(100 * ETHER), "box": box}
    for now in (T0, T0 + 4 * HOUR):
        b = bite_amounts(ink=ink, art=art, litter=litter, **cat)
        assert (b.dink, b.dart, b.tab) == (50 * ETHER, 75 * ETHER, rad(75 * ETHER))
        ink, art, litter = ink - b.dink, art - b.dart, litter + b.tab
        if art:  # vat.t.sol::testFail_fill_litterbox: the box is full until the deal
            with pytest.raises(CatReverted, match="Cat/liquidation-limit-hit"):
                bite_amounts(ink=ink, art=art, litter=litter, **cat)
        vow = vow.grab(b.due, now=now)
        step = FLIP.kick(id=1, usr="me", gal="vow", tab=b.tab, lot=b.dink, now=now, kicker="cat")
        ledger.apply(step.transfers, mint_from=("cat",))
        for call, lot, bid in (
            (FLIP.tend, 50 * ETHER, rad(1 * ETHER)),
            (FLIP.tend, 50 * ETHER, rad(75 * ETHER)),
            (FLIP.dent, 25 * ETHER, rad(75 * ETHER)),
        ):
            step = call(step.state, guy="me", lot=lot, bid=bid, now=now)
            ledger.apply(step.transfers)
        step = FLIP.deal(step.state, now=now + 4 * HOUR)
        ledger.apply(step.transfers)
        litter -= step.digs
        assert litter == 0
    # dss: dai(this) 0, gem(this) back to 1,000 (all 100 gold), vow dai 150.
    assert (ink, art, ledger.dai("me"), ledger.gem("me")) == (0, 0, 0, 100 * ETHER)
    assert (ledger.dai("vow"), vow.awe) == (rad(150 * ETHER), rad(150 * ETHER))


def test_black_thursday_zero_bid_wins_whole_lot():
    """Black Thursday: a ~0 DAI bid unopposed until ttl wins all 50 ETH; the debt stays bad."""
    # Launch Cat: a 60 ETH vault owing 6,000 DAI, OSM $120 at mat 150 % → spot 80 < 100 DAI/ETH.
    spot = spot_price(120 * WAD, RAY, 15 * RAY // 10)
    b = bite_amounts_lump(
        ink=60 * WAD, art=6_000 * WAD, rate=RAY, spot=spot, lump=50 * WAD, chop=113 * RAY // 100
    )
    assert (b.dink, b.dart, b.tab) == (50 * WAD, 5_000 * WAD, 5_650 * RAD)  # 6,000·50/60; ×1.13
    vow = Vow(wait=4 * 86_400).grab(b.due, now=T0)
    ledger = Ledger(keeper=10 * RAD)
    a = FLIP.kick(id=1, usr="vault", gal="vow", tab=b.tab, lot=b.dink, now=T0, kicker="cat")
    ledger.apply(a.transfers, mint_from=("cat",))
    # A literal 0 does not beat the kick bid of 0; the smallest legal bid is 1 rad = 1e-45 DAI.
    with pytest.raises(FlipperReverted, match="Flipper/bid-not-higher"):
        FLIP.tend(a.state, guy="keeper", lot=50 * WAD, bid=0, now=T0 + 60)
    s = FLIP.tend(a.state, guy="keeper", lot=50 * WAD, bid=1, now=T0 + 60)
    ledger.apply(s.transfers)
    # Congestion: no other bid lands before ttl; one second after the bid expires it deals.
    with pytest.raises(FlipperReverted, match="Flipper/not-finished"):
        FLIP.deal(s.state, now=T0 + 60 + FLIP.ttl)
    done = FLIP.deal(s.state, now=T0 + 60 + FLIP.ttl + 1)
    ledger.apply(done.transfers)
    assert (ledger.gem("keeper"), ledger.gem("vault"), ledger.dai("keeper")) == (
        50 * WAD,
        0,
        10 * RAD - 1,
    )
    assert done.digs == b.tab  # Cat.claw frees the whole tab: nothing else covers it
    vow = vow.receive(ledger.dai("vow")).flog(T0, now=T0 + 4 * 86_400).heal(1)
    assert vow.surplus == -(5_000 * RAD - 1)  # the whole debt is now system deficit
    assert vow.woe == 5_000 * RAD - 1


def test_black_thursday_rival_bid_extends_and_wins():
    """A second bid before ttl (≥ 5 % higher) takes over and restarts the bid clock."""
    a = _kick(Ledger(), tab=5_650 * RAD, lot=50 * WAD)
    s = FLIP.tend(a, guy="zero", lot=50 * WAD, bid=1, now=T0 + 60)
    assert s.state is not None
    s = FLIP.tend(s.state, guy="rival", lot=50 * WAD, bid=4_000 * RAD, now=T0 + 60 + FLIP.ttl - 1)
    assert s.state is not None
    assert [(t.src, t.dst, t.amount) for t in s.transfers] == [
        ("rival", "zero", 1),
        ("rival", "gal", 4_000 * RAD - 1),
    ]
    assert s.state.tic == T0 + 60 + 2 * FLIP.ttl - 1


# --- Clipper ----------------------------------------------------------------------------------

CHOST = 22 * RAD
STAIR = StairstepExponentialDecrease(step=1, cut=RAY - ray(ETHER // 100))
CLIP = Clipper(
    calc=STAIR, tail=3_600, cusp=ray(3 * ETHER // 10), buf=ray(125 * ETHER // 100), chost=CHOST
)
FEED = ray(4 * ETHER)  # clip.t.sol: pip at $4 after setUp


def _sale(clip: Clipper = CLIP, *, now: int = T0) -> Sale:
    step = clip.kick(
        id=1, tab=rad(110 * ETHER), lot=40 * ETHER, usr="me", kpr="kpr", now=now, feed=FEED
    )
    assert step.state is not None
    return step.state


def test_clipper_kick_sets_top_and_pays_tip():
    """clip.t.sol::test_kick: buf 1 → top $4, tip 100; buf 1.25, chip 2 % → top $5, 100 + 2.2."""
    plain = dataclasses.replace(CLIP, buf=RAY, tip=rad(100 * ETHER))
    s = plain.kick(
        id=1, tab=rad(110 * ETHER), lot=40 * ETHER, usr="me", kpr="ali", now=T0, feed=FEED
    )
    assert s.state == Sale(
        id=1, tab=rad(110 * ETHER), lot=40 * ETHER, usr="me", tic=T0, top=ray(4 * ETHER)
    )
    assert s.coin == rad(100 * ETHER)
    rich = dataclasses.replace(CLIP, tip=rad(100 * ETHER), chip=2 * WAD // 100)
    s = rich.kick(
        id=2, tab=rad(110 * ETHER), lot=40 * ETHER, usr="me", kpr="bob", now=T0 + 100, feed=FEED
    )
    assert s.state is not None
    assert s.state.top == ray(5 * ETHER)
    assert s.coin == rad(100 * ETHER) + rad(110 * ETHER) * 2 // 100


@pytest.mark.parametrize(
    ("tab", "lot", "usr", "reason"),
    [
        (0, 2 * ETHER, "u", "Clipper/zero-tab"),
        (ETHER, 0, "u", "Clipper/zero-lot"),
        (ETHER, 2 * ETHER, "", "Clipper/zero-usr"),
    ],
)
def test_clipper_kick_validation(tab, lot, usr, reason):
    """clip.t.sol::test_kick_zero_{tab,lot,usr}: a kick needs tab, lot and usr."""
    with pytest.raises(ClipperReverted, match=reason):
        CLIP.kick(id=1, tab=tab, lot=lot, usr=usr, kpr="k", now=T0, feed=FEED)


def test_clipper_kick_zero_price_reverts():
    """clip.t.sol::testFail_kick_zero_price: a zero OSM price gives top 0."""
    with pytest.raises(ClipperReverted, match="Clipper/zero-top-price"):
        CLIP.kick(id=1, tab=ETHER, lot=ETHER, usr="u", kpr="k", now=T0, feed=0)


def test_clipper_take_over_tab_returns_rest_to_usr():
    """clip.t.sol::test_take_over_tab: ali gets 22 gold for 110 DAI, 18 gold go back; sale ends."""
    ledger = Ledger(ali=rad(1_000 * ETHER))
    s = CLIP.take(_sale(), amt=25 * ETHER, max_price=ray(5 * ETHER), who="ali", now=T0)
    ledger.apply(s.transfers, mint_from=("clipper",))
    assert s.state is None
    assert (ledger.gem("ali"), ledger.dai("ali"), ledger.gem("me")) == (
        22 * ETHER,
        rad(890 * ETHER),
        18 * ETHER,
    )
    assert (ledger.dai("vow"), s.digs) == (rad(110 * ETHER), rad(110 * ETHER))


def test_clipper_take_under_tab_keeps_sale():
    """clip.t.sol::test_take_under_tab: 11 gold for 55; tab 55, lot 29, tic and top unchanged."""
    s = CLIP.take(_sale(), amt=11 * ETHER, max_price=ray(5 * ETHER), who="ali", now=T0)
    assert s.state == Sale(
        id=1, tab=rad(55 * ETHER), lot=29 * ETHER, usr="me", tic=T0, top=ray(5 * ETHER)
    )
    assert s.digs == rad(55 * ETHER)


def test_clipper_take_full_lot_partial_tab_releases_whole_tab():
    """clip.t.sol::test_take_full_lot_partial_tab: all 40 gold for ≈ 100; Dirt drops by all 110."""
    s = CLIP.take(_sale(), amt=40 * ETHER, max_price=ray(25 * ETHER // 10), who="ali", now=T0 + 69)
    assert s.state is None
    owe = next(t.amount for t in s.transfers if t.asset is Asset.DAI)
    assert rad(100 * ETHER) - owe < rad(ETHER // 10)
    assert s.digs == rad(110 * ETHER)
    assert [t.dst for t in s.transfers if t.asset is Asset.GEM] == ["ali"]  # nothing to usr


def test_clipper_take_multiple_bids_different_prices():
    """clip.t.sol::test_take_multiple_bids_different_prices: 10 at $5, then the rest 30 s later."""
    ledger = Ledger(ali=rad(1_000 * ETHER), bob=rad(1_000 * ETHER))
    s = CLIP.take(_sale(), amt=10 * ETHER, max_price=ray(5 * ETHER), who="ali", now=T0)
    ledger.apply(s.transfers, mint_from=("clipper",))
    assert s.state is not None
    assert (s.state.tab, s.state.lot) == (rad(60 * ETHER), 30 * ETHER)
    price = CLIP.price_at(s.state, T0 + 30)  # 5 × 0.99**30 ≈ 3.6985
    s = CLIP.take(s.state, amt=30 * ETHER, max_price=price, who="bob", now=T0 + 30)
    ledger.apply(s.transfers, mint_from=("clipper",))
    expected_gem = RAY * 60 * ETHER // price
    assert s.state is None
    assert (ledger.gem("bob"), ledger.dai("bob")) == (expected_gem, rad(940 * ETHER))
    assert ledger.gem("me") == 30 * ETHER - expected_gem
    assert ledger.dai("vow") == rad(110 * ETHER)


def test_clipper_take_needs_reset_after_tail():
    """clip.sol take: a sale older than tail must be redone first."""
    with pytest.raises(ClipperReverted, match="Clipper/needs-reset"):
        CLIP.take(_sale(), amt=ETHER, max_price=RAY * 10, who="ali", now=T0 + 3_601)


@pytest.mark.parametrize(("tau", "ready"), [(10 * HOUR, 3_601), (HOUR, 1_801)])
def test_clipper_reset_by_tail_or_cusp(tau, ready):
    """clip.t.sol::test_auction_reset_{tail,cusp}: redo at 3,601 s / 1,801 s, top = $3 × 1.25."""
    clip = Clipper(
        calc=LinearDecrease(tau), tail=3_600, cusp=ray(ETHER // 2), buf=ray(125 * ETHER // 100)
    )
    sale = _sale(clip)
    assert sale.top == ray(5 * ETHER)
    assert clip.status(sale, T0 + ready - 1)[0] is False
    with pytest.raises(ClipperReverted, match="Clipper/cannot-reset"):
        clip.redo(sale, kpr="k", now=T0 + ready - 1, feed=ray(3 * ETHER))
    assert clip.status(sale, T0 + ready)[0] is True
    redone = clip.redo(sale, kpr="k", now=T0 + ready, feed=ray(3 * ETHER)).state
    assert redone is not None
    assert (redone.tic, redone.top) == (T0 + ready, ray(375 * ETHER // 100))
    with pytest.raises(ClipperReverted, match="Clipper/cannot-reset"):  # …_twice
        clip.redo(redone, kpr="k", now=T0 + ready, feed=ray(3 * ETHER))


def test_clipper_redo_incentive_sequence():
    """clip.t.sol::test_redo_incentive: tip, tip + chip, chip only, then none for dusty sales."""
    clip = dataclasses.replace(CLIP, tip=rad(100 * ETHER))
    sale, now = _sale(clip), T0
    coins = []
    for chip, tip, chost in [
        (0, rad(100 * ETHER), CHOST),
        (2 * WAD // 100, rad(100 * ETHER), CHOST),
        (2 * WAD // 100, 0, CHOST),
        (2 * WAD // 100, 0, 110 * RAD + 1),
    ]:
        clip = dataclasses.replace(clip, chip=chip, tip=tip, chost=chost)
        now += 300  # 5 × 0.99**300 ≈ 0.245 < 0.3 × 5: cusp reached
        step = clip.redo(sale, kpr="k", now=now, feed=FEED)
        assert step.state is not None
        sale = step.state
        coins.append(step.coin)
    assert coins == [
        rad(100 * ETHER),
        rad(100 * ETHER) + rad(22 * ETHER // 10),
        rad(22 * ETHER // 10),
        0,
    ]
    clip = dataclasses.replace(clip, chost=CHOST)
    now += 100
    price = clip.price_at(sale, now)
    assert price == 1_830_161_706_366_147_524_653_080_130
    step = clip.take(sale, amt=38 * ETHER, max_price=ray(5 * ETHER), who="me", now=now)
    assert step.state is not None
    assert (step.state.tab, step.state.lot) == (rad(110 * ETHER) - 38 * ETHER * price, 2 * ETHER)
    now += 300
    assert clip.redo(step.state, kpr="k", now=now, feed=FEED).coin == 0  # 2 gold × $4 < $22


def test_clipper_rejects_out_of_range_incentives():
    """clip.sol file(): chip is a uint64 and tip a uint192 (larger values would be truncated)."""
    with pytest.raises(ValueError, match="chip"):
        dataclasses.replace(CLIP, chip=2**64)


# --- Vow --------------------------------------------------------------------------------------


def test_vow_floppy_bite():
    """vat.t.sol::test_floppy_bite: bite 100, flog, sump 10: a flop moves 10 from woe to ash."""
    vow = Vow(sump=rad(10 * ETHER), dump=2_000 * ETHER).grab(rad(100 * ETHER), now=T0)
    assert (vow.queued, vow.woe) == (rad(100 * ETHER), 0)
    assert not vow.flop_due
    vow = vow.flog(T0, now=T0)
    assert (vow.queued, vow.woe, vow.joy, vow.ash) == (0, rad(100 * ETHER), 0, 0)
    assert vow.flop_due
    vow = vow.flop()
    assert (vow.woe, vow.joy, vow.ash) == (rad(90 * ETHER), 0, rad(10 * ETHER))
    vow = vow.receive(rad(10 * ETHER)).kiss(rad(10 * ETHER))  # first flop dent: vow.kiss
    assert (vow.woe, vow.joy, vow.ash) == (rad(90 * ETHER), 0, 0)


def test_vow_flappy_bite():
    """vat.t.sol::test_flappy_bite: 100 DAI of surplus, no debt, bump 100: a flap is due."""
    vow = Vow(bump=rad(100 * ETHER)).receive(rad(100 * ETHER))
    assert vow.flap_due
    assert not dataclasses.replace(vow, hump=1).flap_due


def test_vow_heal_and_wait():
    """vow.sol: flog waits `wait`; heal needs surplus and unqueued debt; it keeps joy − awe."""
    vow = Vow(wait=156 * HOUR).grab(rad(50 * ETHER), now=T0).receive(rad(30 * ETHER))
    with pytest.raises(VowReverted, match="Vow/insufficient-debt"):
        vow.heal(rad(30 * ETHER))  # the debt is still queued
    with pytest.raises(VowReverted, match="Vow/wait-not-finished"):
        vow.flog(T0, now=T0 + 156 * HOUR - 1)
    vow = vow.flog(T0, now=T0 + 156 * HOUR)
    with pytest.raises(VowReverted, match="Vow/insufficient-surplus"):
        vow.heal(rad(31 * ETHER))
    healed = vow.heal(rad(30 * ETHER))
    assert (healed.joy, healed.awe, healed.surplus) == (0, rad(20 * ETHER), vow.surplus)
    with pytest.raises(VowReverted, match="Vow/surplus-not-zero"):
        dataclasses.replace(vow, sump=1).flop()


def test_vow_keeper_incentive_adds_debt():
    """clip.sol kick/redo: vat.suck(vow, kpr, coin) adds coin to the Vow's sin, not to the queue."""
    vow = Vow().suck(rad(100 * ETHER))
    assert (vow.awe, vow.queued, vow.woe) == (rad(100 * ETHER), 0, rad(100 * ETHER))
