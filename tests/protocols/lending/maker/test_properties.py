"""Property tests of the Maker reference math and auctions: conservation, signs, monotonicity.

Collateral and DAI are tracked through every transfer an auction returns: collateral put up for
sale ends with buyers or back with the vault, DAI paid by bidders ends with the Vow (``gal``)
or back with outbid bidders, and no account that started with nothing ever goes negative.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.protocols.lending.maker.auctions import (
    Asset,
    Clipper,
    ExponentialDecrease,
    FlipBid,
    Flipper,
    FlipPhase,
    LinearDecrease,
    StairstepExponentialDecrease,
    Transfer,
    Vow,
)
from protosim.protocols.lending.maker.math import (
    RAD,
    DssReverted,
    FlipperReverted,
    bark_amounts,
    bite_amounts,
    exponential_decrease,
    linear_decrease,
    stairstep_exponential_decrease,
)
from protosim.units import RAY, WAD

tops = st.integers(min_value=1, max_value=10**9 * RAY)
cuts = st.integers(min_value=RAY // 2, max_value=RAY)
durations = st.integers(min_value=0, max_value=10 * 86_400)
abaci = st.one_of(
    st.builds(LinearDecrease, st.integers(min_value=1, max_value=86_400)),
    st.builds(StairstepExponentialDecrease, st.integers(min_value=1, max_value=600), cuts),
    st.builds(ExponentialDecrease, st.integers(min_value=RAY * 99 // 100, max_value=RAY)),
)


_T = TypeVar("_T")


def _attempt(call: Callable[[], _T]) -> _T | DssReverted:
    try:
        return call()
    except DssReverted as err:
        return err


def _apply(bal: Counter[tuple[Asset, str]], transfers: tuple[Transfer, ...]) -> None:
    for t in transfers:
        assert t.amount > 0
        bal[t.asset, t.src] -= t.amount
        bal[t.asset, t.dst] += t.amount
        assert bal[t.asset, t.src] >= 0, f"negative {t.asset} balance of {t.src}"


@settings(max_examples=300, deadline=None)
@given(
    top=tops,
    d1=durations,
    d2=durations,
    tau=st.integers(1, 86_400),
    step=st.integers(1, 600),
    cut=cuts,
)
def test_decrease_functions_never_increase_with_time(top, d1, d2, tau, step, cut):
    """Each Abacus price is at most top and never rises as the auction ages."""
    early, late = sorted((d1, d2))
    for price in (
        lambda d: linear_decrease(top, d, tau),
        lambda d: stairstep_exponential_decrease(top, d, step, cut),
        lambda d: exponential_decrease(top, d, cut),
    ):
        assert top >= price(early) >= price(late) >= 0
    assert linear_decrease(top, 0, tau) == top
    assert stairstep_exponential_decrease(top, step - 1, step, cut) == top


@st.composite
def vaults(draw: st.DrawFn) -> dict[str, int]:
    rate = draw(st.integers(min_value=RAY, max_value=3 * RAY))
    art = draw(st.integers(min_value=1, max_value=10**9 * WAD))
    ink = draw(st.integers(min_value=1, max_value=10**7 * WAD))
    # Any spot that makes the vault unsafe: ink·spot < art·rate.
    spot = draw(st.integers(min_value=1, max_value=max(1, (art * rate - 1) // ink)))
    return {"ink": ink, "art": art, "rate": rate, "spot": spot}


@settings(max_examples=400, deadline=None)
@given(
    vault=vaults(),
    chop=st.integers(min_value=WAD, max_value=15 * WAD // 10),
    # dust, the holes and the dirt as fractions (per 1e4) of the vault's debt, so that full,
    # partial and refused barks all occur
    dust_bp=st.integers(min_value=0, max_value=15_000),
    ilk_hole_bp=st.integers(min_value=0, max_value=25_000),
    global_hole_bp=st.integers(min_value=1, max_value=25_000),
    dirt_bp=st.integers(min_value=0, max_value=10_000),
)
def test_bark_never_leaves_dusty_remnant_and_respects_room(
    vault, chop, dust_bp, ilk_hole_bp, global_hole_bp, dirt_bp
):
    """bark takes ≤ ink and ≤ art; the vault left is empty or ≥ dust; a partial tab fits room."""
    debt = vault["art"] * vault["rate"]
    dust = debt * dust_bp // 10_000
    ilk_hole = debt * ilk_hole_bp // 10_000
    global_hole = debt * global_hole_bp // 10_000
    ilk_dirt = ilk_hole * dirt_bp // 10_000
    b = _attempt(
        lambda: bark_amounts(
            **vault,
            dust=dust,
            chop=chop,
            ilk_hole=ilk_hole,
            ilk_dirt=ilk_dirt,
            global_hole=global_hole,
            global_dirt=0,
        )
    )
    if isinstance(b, DssReverted):
        assert b.reason in {
            "Dog/liquidation-limit-hit",
            "Dog/dusty-auction-from-partial-liquidation",
            "Dog/null-auction",
        }
        return
    ink, art, rate = vault["ink"], vault["art"], vault["rate"]
    assert 0 < b.dink <= ink
    assert 0 < b.dart <= art
    assert b.dink * art <= ink * b.dart  # collateral taken pro rata, rounded for the vault
    remnant = (art - b.dart) * rate
    assert remnant == 0 or remnant >= dust
    assert b.due == b.dart * rate <= b.tab
    if b.dart < art:
        assert b.tab <= min(global_hole, ilk_hole - ilk_dirt)
        assert b.due >= dust


@settings(max_examples=300, deadline=None)
@given(
    vault=vaults(),
    dust=st.integers(min_value=0, max_value=10**4 * RAD),
    chop=st.integers(min_value=WAD, max_value=15 * WAD // 10),
    dunk=st.integers(min_value=0, max_value=10**7 * RAD),
    box=st.integers(min_value=0, max_value=10**8 * RAD),
)
def test_bite_tab_never_exceeds_dunk_or_room(vault, dust, chop, dunk, box):
    """Cat.bite: tab ≤ min(dunk, box − litter); dink ≤ ink and dart ≤ art."""
    b = _attempt(lambda: bite_amounts(**vault, dust=dust, chop=chop, dunk=dunk, box=box, litter=0))
    if isinstance(b, DssReverted):
        assert b.reason in {"Cat/liquidation-limit-hit", "Cat/null-auction"}
        return
    assert 0 < b.dink <= vault["ink"]
    assert 0 < b.dart <= vault["art"]
    assert b.tab <= min(dunk, box)


ops = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=900),  # seconds to wait
        st.integers(min_value=0, max_value=2 * 10**4),  # amount, per 1e4 of the lot
        st.sampled_from(["ali", "bob"]),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    calc=abaci,
    lot=st.integers(min_value=1, max_value=10**6 * WAD),
    feed=st.integers(min_value=RAY // 10**4, max_value=10**5 * RAY),
    # tab and chost per 1e4 of the lot's value at the feed: auctions that raise the whole tab
    # and return collateral, and auctions that sell out short of it, both occur
    tab_bp=st.integers(min_value=1, max_value=30_000),
    chost_bp=st.integers(min_value=0, max_value=5_000),
    tail=st.integers(min_value=0, max_value=7_200),
    cusp=st.integers(min_value=1, max_value=RAY * 9 // 10),
    moves=ops,
)
def test_clipper_conserves_collateral_and_dai(calc, lot, feed, tab_bp, chost_bp, tail, cusp, moves):
    """Through takes and redos: lot = bought + returned + left; DAI to the Vow = tab − left."""
    tab = max(1, lot * feed * tab_bp // 10_000)
    chost = tab * chost_bp // 10_000
    clip = Clipper(calc=calc, tail=tail, cusp=cusp, buf=12 * RAY // 10, chost=chost)
    bal: Counter[tuple[Asset, str]] = Counter({(Asset.GEM, "clipper"): lot})
    for who in ("ali", "bob"):
        bal[Asset.DAI, who] = 10**60  # deep pockets: only conservation matters here
    step = clip.kick(id=1, tab=tab, lot=lot, usr="usr", kpr="kpr", now=0, feed=feed)
    sale, now, digs = step.state, 0, 0
    for dt, share, who in moves:
        if sale is None:
            break
        now += dt
        done, price = clip.status(sale, now)
        if done:
            redone = clip.redo(sale, kpr="kpr", now=now, feed=feed).state
            assert redone is not None
            sale = redone
            continue
        amt = sale.lot * share // 10**4
        step = _attempt(partial(clip.take, sale, amt=amt, max_price=price, who=who, now=now))
        if isinstance(step, DssReverted):
            assert step.reason == "Clipper/no-partial-purchase"
            assert sale.tab <= chost
            continue
        owe = sum(t.amount for t in step.transfers if t.asset is Asset.DAI)
        bought = sum(t.amount for t in step.transfers if t.dst == who and t.asset is Asset.GEM)
        assert bought * price <= owe <= sale.tab  # never below the price, never above tab
        _apply(bal, step.transfers)
        digs += step.digs
        if step.state is not None:
            assert step.state.tab >= chost  # a partial take never leaves a dusty tab
        sale = step.state
    left_lot, left_tab = (sale.lot, sale.tab) if sale is not None else (0, 0)
    assert bal[Asset.GEM, "ali"] + bal[Asset.GEM, "bob"] + bal[Asset.GEM, "usr"] + left_lot == lot
    assert bal[Asset.GEM, "clipper"] == left_lot
    raised = bal[Asset.DAI, "vow"]
    assert 2 * 10**60 - bal[Asset.DAI, "ali"] - bal[Asset.DAI, "bob"] == raised
    if sale is not None:
        assert raised + left_tab == tab
        assert digs == raised
    else:
        assert digs == tab  # the whole tab leaves the liquidation limit when the sale ends
        assert raised <= tab
        if bal[Asset.GEM, "usr"] > 0:
            assert raised == tab  # collateral returns only once the tab is covered


flip_ops = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4 * 3_600),  # seconds to wait
        st.integers(min_value=0, max_value=10**4),  # fraction (per 1e4) of tab or lot
        st.sampled_from(["ali", "bob", "che"]),
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(
    lot=st.integers(min_value=1, max_value=10**6 * WAD),
    tab=st.integers(min_value=1, max_value=10**8 * RAD),
    beg=st.integers(min_value=WAD, max_value=11 * WAD // 10),
    moves=flip_ops,
)
def test_flipper_conserves_collateral_and_dai(lot, tab, beg, moves):
    """lot = lot to winner + lot to usr; gal holds the final bid ≤ tab; losers are made whole."""
    flip = Flipper(beg=beg, ttl=3 * 3_600, tau=2 * 86_400)
    bidders = ("ali", "bob", "che")
    bal: Counter[tuple[Asset, str]] = Counter({(Asset.DAI, who): tab for who in bidders})
    bal[Asset.GEM, "cat"] = lot
    kicked = flip.kick(id=1, usr="usr", gal="vow", tab=tab, lot=lot, now=0)
    _apply(bal, kicked.transfers)
    auction: FlipBid | None = kicked.state
    assert auction is not None
    now = 0
    for dt, share, who in moves:
        now += dt
        try:
            if auction.phase is FlipPhase.TEND:
                bid = max(auction.bid + 1, tab * share // 10**4)
                step = flip.tend(auction, guy=who, lot=auction.lot, bid=min(bid, tab), now=now)
            else:
                step = flip.dent(
                    auction, guy=who, lot=auction.lot * share // 10**4, bid=tab, now=now
                )
        except FlipperReverted:
            continue
        _apply(bal, step.transfers)
        assert step.state is not None
        auction = step.state
    if auction.tic == 0:
        return  # no bid: the lot stays in the Flipper until tick and a bid
    done = flip.deal(auction, now=max(auction.tic, auction.end) + 1)
    _apply(bal, done.transfers)
    assert done.state is None
    assert done.digs == tab
    winner = auction.guy
    assert bal[Asset.GEM, winner] + bal[Asset.GEM, "usr"] == lot
    assert bal[Asset.GEM, winner] == auction.lot
    assert bal[Asset.GEM, "flipper"] == 0
    assert bal[Asset.DAI, "vow"] == auction.bid <= tab
    if auction.lot < lot:
        assert auction.bid == tab  # collateral goes back only once the tab is fully bid
    for who in bidders:
        assert bal[Asset.DAI, who] == tab - (auction.bid if who == winner else 0)


@settings(max_examples=200, deadline=None)
@given(
    due=st.integers(min_value=0, max_value=10**9 * RAD),
    raised=st.integers(min_value=0, max_value=10**9 * RAD),
    coin=st.integers(min_value=0, max_value=10**4 * RAD),
)
def test_vow_heal_preserves_net_surplus(due, raised, coin):
    """grab, suck and receive move joy − awe by −due, −coin, +raised; heal keeps it."""
    vow = Vow().grab(due, now=0).suck(coin).receive(raised).flog(0, now=0)
    assert vow.surplus == raised - due - coin
    healed = vow.heal(min(vow.joy, vow.woe))
    assert healed.surplus == vow.surplus
    assert min(healed.joy, healed.woe) == 0
