"""Worked cases of the Maker (dss) integer reference math.

Expected numbers come from makerdao/dss's own tests (at fa4f6630), named per test as
``file::function``: ``src/test/abaci.t.sol``, ``src/test/clip.t.sol``, ``src/test/dog.t.sol``
and ``src/test/vat.t.sol`` (its ``BiteTest`` holds the Cat tests; dss has no ``cat.t.sol``), or
from hand derivations written out in the test.
"""

from __future__ import annotations

import pytest

from protosim.protocols.lending.maker.math import (
    RAD,
    CatReverted,
    ClipperReverted,
    DogReverted,
    bark_amounts,
    bite_amounts,
    bite_amounts_lump,
    clipper_top,
    exponential_decrease,
    feed_price,
    is_safe,
    is_unsafe,
    keeper_incentive,
    linear_decrease,
    needs_redo,
    rdiv,
    redo_incentive,
    rmul,
    rpow,
    spot_price,
    stairstep_exponential_decrease,
    take_amounts,
    upchost,
    wmul,
)
from protosim.units import RAY, WAD


def ray(wad: int) -> int:
    return wad * 10**9


def rad(wad: int) -> int:
    return wad * 10**27


ETHER = WAD  # Solidity's `1 ether` literal
THOUSAND = 1_000
CUT_1PCT = RAY - ray(ETHER // 100)  # clip.t.sol takeSetup: 1 % decrease


# --- fixed-point helpers ----------------------------------------------------------------------


def test_rmul_wmul_rdiv_round_down():
    """dss rmul, wmul and rdiv floor the exact quotient (no half-up rounding)."""
    assert rmul(RAY - 1, RAY - 1) == RAY - 2  # (1 - 1e-27)^2 = 1 - 2e-27 + 1e-54 → floor
    assert wmul(3, WAD // 2) == 1
    assert rdiv(1, 3 * RAY) == 0
    assert rdiv(2 * RAY, 3 * RAY) == 666_666_666_666_666_666_666_666_666


def test_rpow_rounds_half_up_at_each_product():
    """rpow rounds each squaring and product half up: base 10, 5^2 = 25/10 = 2.5 → 3."""
    assert rpow(5, 2, 10) == 3  # (5·5 + 5) // 10
    assert rpow(5, 3, 10) == 2  # z = 5; x = 3; z = (5·3 + 5) // 10 = 2
    assert rpow(15, 0, 10) == 10
    assert rpow(0, 0, 10) == 10
    assert rpow(0, 7, 10) == 0


def test_rpow_of_decimal_cut_is_exact_for_small_powers():
    """0.99 ray to the 2nd and 3rd power have no rounding: 0.9801 and 0.970299 ray."""
    cut = 99 * RAY // 100
    assert rpow(cut, 2) == 9_801 * RAY // 10_000
    assert rpow(cut, 3) == 970_299 * RAY // 1_000_000


def test_rpow_reverts_when_the_base_squared_overflows():
    """rpow reverts once x >= 2**128 must be squared (abaci.sol `shr(128, x)`)."""
    assert rpow(2**128, 1, RAY) == 2**128
    with pytest.raises(OverflowError):
        rpow(2**128, 2, RAY)


def test_rpow_jug_rate_matches_vat_t_sol_partial_litterbox_realistic_values():
    """An 8 %/year duty over 10 days compounds to ≈ 1.0021; ten 1-day powers chain within 1e-26."""
    eight_pct = 1_000_000_002_440_418_608_258_400_030  # vat.t.sol: e(l(1.08)/(365 days))
    rate = rmul(rpow(eight_pct, 10 * 86_400), RAY)  # jug.drip from rate = RAY
    assert 1_002_110_000 * 10**18 < rate < 1_002_112_000 * 10**18  # 1.08 ** (10/365) = 1.0021109
    day = rpow(eight_pct, 86_400)
    assert abs(rpow(day, 10) - rate) < 10


def test_checked_arithmetic_refuses_negative_inputs():
    """Every helper mirrors uint256: a negative input is a caller error."""
    with pytest.raises(ValueError, match="uint256"):
        rmul(-1, RAY)
    with pytest.raises(ZeroDivisionError):
        rdiv(1, 0)


# --- Vat and Spotter --------------------------------------------------------------------------


def test_spot_from_price_and_mat_clip_t_sol_setup():
    """clip.t.sol::setUp: gold at $5 with mat 200 % has spot 2.5; at $4, spot 2 (unsafe vault)."""
    assert spot_price(5 * ETHER, RAY, ray(2 * ETHER)) == ray(25 * ETHER // 10)
    spot = spot_price(4 * ETHER, RAY, ray(2 * ETHER))
    assert spot == 2 * RAY
    assert is_safe(40 * ETHER, 100 * ETHER, RAY, ray(25 * ETHER // 10))
    assert not is_safe(40 * ETHER, 100 * ETHER, RAY, spot)
    assert is_unsafe(40 * ETHER, 100 * ETHER, RAY, spot)


def test_spot_divides_by_par_then_mat_with_floors():
    """spot = (val·1e9 / par) / mat, each floored: $1 at par 3 and mat 1 is 0.333… ray."""
    assert spot_price(ETHER, 3 * RAY, RAY) == RAY // 3
    assert feed_price(ETHER, 3 * RAY) == RAY // 3


def test_vault_at_exactly_spot_is_safe_and_not_barkable():
    """Vat safety is art·rate <= ink·spot; bark needs ink·spot < art·rate strictly."""
    assert is_safe(1 * ETHER, 1_000 * ETHER, RAY, 1_000 * RAY)
    assert not is_unsafe(1 * ETHER, 1_000 * ETHER, RAY, 1_000 * RAY)


def test_zero_spot_blocks_liquidation():
    """cat.t/dog: `spot > 0` is required, so a vault with no price cannot be bitten."""
    assert not is_unsafe(ETHER, 100 * ETHER, RAY, 0)


# --- Cat (liquidations 1.2 and the launch version) --------------------------------------------

CAT_BOX = rad(10 * ETHER * 10**6)  # vat.t.sol BiteTest setUp: box 10M DAI


def _bite(**overrides: int):
    args = {
        "ink": 40 * ETHER,
        "art": 100 * ETHER,
        "rate": RAY,
        "spot": 2 * RAY,
        "dust": 0,
        "chop": WAD,
        "dunk": rad(200 * ETHER),
        "box": CAT_BOX,
        "litter": 0,
    }
    args.update(overrides)
    return bite_amounts(**args)


def test_bite_under_dunk_liquidates_whole_vault():
    """vat.t.sol::test_bite_under_dunk: dunk 111 > 110 = 100·1.1, so all 40 gold, tab 110."""
    b = _bite(chop=11 * WAD // 10, dunk=rad(111 * ETHER))
    assert (b.dink, b.dart, b.due, b.tab) == (
        40 * ETHER,
        100 * ETHER,
        rad(100 * ETHER),
        rad(110 * ETHER),
    )


def test_bite_over_dunk_is_partial():
    """vat.t.sol::test_bite_over_dunk: dunk 82.5 → dart 75, lot 30, tab 82.5, vault keeps 10/25."""
    b = _bite(chop=11 * WAD // 10, dunk=rad(825 * ETHER // 10))
    assert (b.dink, b.dart, b.tab) == (30 * ETHER, 75 * ETHER, rad(825 * ETHER // 10))
    assert (40 * ETHER - b.dink, 100 * ETHER - b.dart) == (10 * ETHER, 25 * ETHER)
    assert b.due == rad(75 * ETHER)  # vow.Awe


def test_bite_partial_litterbox():
    """vat.t.sol::test_partial_litterbox: box 75 halves a 150 DAI vault: 50 gold, 75 art."""
    b = _bite(
        ink=100 * ETHER, art=150 * ETHER, spot=RAY, box=rad(75 * ETHER), dunk=rad(100 * ETHER)
    )
    assert (b.dink, b.dart, b.tab) == (50 * ETHER, 75 * ETHER, rad(75 * ETHER))


def test_bite_fill_litterbox_reverts():
    """vat.t.sol::testFail_fill_litterbox: with litter == box a second bite is refused."""
    with pytest.raises(CatReverted, match="Cat/liquidation-limit-hit"):
        _bite(ink=50 * ETHER, art=75 * ETHER, spot=RAY, box=rad(75 * ETHER), litter=rad(75 * ETHER))


def test_bite_dusty_litterbox_reverts():
    """vat.t.sol::testFail_dusty_litterbox: room 100 − (80 + 1e-18) < dust 20 is refused."""
    with pytest.raises(CatReverted, match="Cat/liquidation-limit-hit"):
        _bite(
            ink=100 * ETHER,
            art=150 * ETHER,
            spot=RAY,
            dust=rad(20 * ETHER),
            box=rad(100 * ETHER),
            dunk=rad(100 * ETHER),
            litter=rad(80 * ETHER + 1),
        )


def test_bite_realistic_values_with_jug_rate():
    """vat.t.sol::test_partial_litterbox_realistic_values: box 75 filled to < 1 ray of rounding."""
    eight_pct = 1_000_000_002_440_418_608_258_400_030
    rate = rmul(rpow(eight_pct, 10 * 86_400), RAY)
    chop = 113 * WAD // 100
    b = _bite(
        ink=100 * ETHER,
        art=150 * ETHER,
        rate=rate,
        spot=RAY,
        chop=chop,
        box=rad(75 * ETHER),
        dunk=rad(100 * ETHER),
    )
    dart = rad(75 * ETHER) * WAD // rate // chop  # room / rate / chop
    assert b.dart == dart
    assert b.dink == 100 * ETHER * dart // (150 * ETHER)
    assert b.due == dart * rate  # vow.sin(now)
    assert 0 <= rad(75 * ETHER) - b.tab < ray(ETHER)  # box - litter < 1 RAY


def test_bite_null_auction_when_room_rounds_dart_to_zero():
    """vat.t.sol::testFail_null_auctions_dart_artificial_values: room 2 rad gives dart 0."""
    with pytest.raises(CatReverted, match="Cat/null-auction"):
        _bite(
            ink=100 * ETHER,
            art=200 * ETHER,
            spot=RAY,
            chop=113 * WAD // 100,
            box=rad(113 * ETHER) + 2,
            litter=rad(113 * ETHER),
            dunk=rad(113 * ETHER),
        )


def test_bite_null_auction_when_dink_rounds_to_zero():
    """vat.t.sol::testFail_null_auctions_dink_artificial_values: 1 wei of ink, half the debt."""
    with pytest.raises(CatReverted, match="Cat/null-auction"):
        _bite(ink=1, art=100 * ETHER, spot=1, dunk=rad(50 * ETHER))


def test_bite_safe_vault_reverts():
    """vat.t.sol::testFail_vault_is_safe: 100 gold at spot 2.5 against 150 DAI is safe."""
    with pytest.raises(CatReverted, match="Cat/not-unsafe"):
        _bite(ink=100 * ETHER, art=150 * ETHER, spot=ray(25 * ETHER // 10))


def test_bite_lump_takes_fixed_lots_until_the_vault_is_empty():
    """Launch Cat: lot = min(ink, lump), art pro rata, tab = rmul(art·rate, chop ray); repeated."""
    ink, art, rate, spot = 120 * ETHER, 10_000 * ETHER, RAY, 80 * RAY
    lump, chop = 50 * ETHER, 113 * RAY // 100
    lots, tabs = [], []
    while art > 0:
        b = bite_amounts_lump(ink=ink, art=art, rate=rate, spot=spot, lump=lump, chop=chop)
        lots.append(b.dink)
        tabs.append(b.tab)
        ink, art = ink - b.dink, art - b.dart
    # 50 + 50 + 20 ETH; art 10,000·50/120 = 4,166.66…, then 5,833.33…·50/70 = 4,166.66…, rest.
    assert lots == [50 * ETHER, 50 * ETHER, 20 * ETHER]
    # due = dart·1e27 is a multiple of RAY, so rmul(due, 1.13 ray) = dart·1.13e27 exactly and the
    # three tabs add up to 1.13 × 10,000 DAI with no rounding loss.
    assert sum(tabs) == rad(11_300 * ETHER)


# --- Dog (liquidations 2.0) -------------------------------------------------------------------

DOG_SPOT = THOUSAND * RAY  # dog.t.sol setUp
DOG_CHOP = 11 * WAD // 10


def _bark(**overrides: int):
    args = {
        "ink": WAD,
        "art": 2 * THOUSAND * WAD,
        "rate": RAY,
        "spot": DOG_SPOT,
        "dust": 100 * RAD,
        "chop": DOG_CHOP,
        "ilk_hole": 10 * THOUSAND * RAD,
        "ilk_dirt": 0,
        "global_hole": 10 * THOUSAND * RAD,
        "global_dirt": 0,
    }
    args.update(overrides)
    return bark_amounts(**args)


def test_bark_basic_takes_whole_vault():
    """dog.t.sol::test_bark_basic: a 2,000 DAI vault fits the 10,000 DAI hole: ink and art to 0."""
    b = _bark()
    assert (b.dink, b.dart) == (WAD, 2 * THOUSAND * WAD)
    assert b.due == 2 * THOUSAND * RAD
    assert b.tab == 2_200 * RAD


def test_bark_not_unsafe_reverts():
    """dog.t.sol::testFail_bark_not_unsafe: 500 DAI against 1 unit at spot 1,000 is safe."""
    with pytest.raises(DogReverted, match="Dog/not-unsafe"):
        _bark(art=500 * WAD)


def test_bark_dusty_vault_is_liquidated():
    """dog.t.sol::test_bark_dusty_vault: a vault below dust is still barked, in full."""
    b = _bark(dust=200 * RAD, ink=1, art=100 * WAD)
    assert (b.dink, b.dart) == (1, 100 * WAD)


@pytest.mark.parametrize("which", ["ilk", "global"])
def test_bark_exceeds_hole_rather_than_leave_dusty_remnant(which):
    """dog.t.sol::test_bark_partial_liquidation_{dirt,Dirt}_exceeds_{hole,Hole}…: full bark."""
    dust, hole = 200, 5 * THOUSAND
    art_start = hole * WAD * WAD // DOG_CHOP + dust * WAD - 1
    limit = {f"{which}_hole": hole * RAD}
    b = _bark(dust=dust * RAD, art=art_start, **limit)
    assert b.dart == art_start
    assert b.tab > hole * RAD
    assert b.tab == art_start * RAY * DOG_CHOP // WAD


@pytest.mark.parametrize("which", ["ilk", "global"])
def test_bark_respects_hole_when_remnant_is_not_dusty(which):
    """dog.t.sol::test_bark_partial_liquidation_…_does_not_exceed_…: remnant art = dust exactly."""
    dust, hole = 200, 5 * THOUSAND
    art_start = hole * WAD * WAD // DOG_CHOP + dust * WAD
    b = _bark(dust=dust * RAD, art=art_start, **{f"{which}_hole": hole * RAD})
    assert art_start - b.dart == dust * WAD
    assert b.tab <= hole * RAD
    assert b.tab == hole * RAD * WAD // RAY // DOG_CHOP * RAY * DOG_CHOP // WAD


def test_bark_dusty_vault_fits_dusty_room():
    """dog.t.sol::test_bark_dusty_vault_dusty_room: 200 DAI of room takes a 30 DAI dusty vault."""
    rate = 15 * RAY // 10
    hole = (33 * THOUSAND + 200) * RAD
    first = _bark(
        art=33 * THOUSAND * RAD // rate * WAD // DOG_CHOP,
        rate=rate,
        ilk_hole=hole,
        global_hole=hole,
    )
    assert hole - first.tab == 200 * RAD
    b = _bark(
        ink=WAD // 10**4,
        art=30 * RAD // rate,
        rate=rate,
        dust=1_500 * RAD,
        ilk_hole=hole,
        global_hole=hole,
        ilk_dirt=first.tab,
        global_dirt=first.tab,
    )
    assert (b.dink, b.dart) == (WAD // 10**4, 30 * RAD // rate)


@pytest.mark.parametrize("which", ["ilk", "global"])
def test_bark_refuses_dusty_partial_auction(which):
    """dog.t.sol::test_bark_do_not_create_dusty_auction_{hole,Hole}: ≈150 DAI room < 300 dust."""
    dust, hole, rate = 300 * RAD, 3 * THOUSAND * RAD, 15 * RAY // 10
    first = _bark(
        art=(hole - dust // 2) // rate * WAD // DOG_CHOP,
        rate=rate,
        dust=dust,
        **{f"{which}_hole": hole},
    )
    dirt = {f"{which}_dirt": first.tab}
    with pytest.raises(DogReverted, match="Dog/dusty-auction-from-partial-liquidation"):
        _bark(
            art=hole // RAY * WAD // DOG_CHOP,
            rate=rate,
            dust=dust,
            **{f"{which}_hole": hole},
            **dirt,
        )


def test_bark_limit_hit_when_no_room():
    """dog.sol: `Hole > Dirt && hole > dirt` is required."""
    with pytest.raises(DogReverted, match="Dog/liquidation-limit-hit"):
        _bark(ilk_dirt=10 * THOUSAND * RAD)


def test_bark_not_leaving_dust_exact_remnant():
    """clip.t.sol::test_bark_not_leaving_dust: hole 80, chop 1: remnant 20 = dust is allowed."""
    b = _bark(
        ink=40 * WAD,
        art=100 * WAD,
        spot=2 * RAY,
        dust=rad(20 * ETHER),
        chop=WAD,
        ilk_hole=rad(80 * ETHER),
    )
    assert (b.tab, b.dink) == (rad(80 * ETHER), 32 * ETHER)
    assert (40 * WAD - b.dink, 100 * WAD - b.dart) == (8 * ETHER, 20 * ETHER)


def test_bark_not_leaving_dust_over_hole():
    """clip.t.sol::test_bark_not_leaving_dust_over_hole: room 80 + 1 wei art leaves < dust: all."""
    b = _bark(
        ink=40 * WAD,
        art=100 * WAD,
        spot=2 * RAY,
        dust=rad(20 * ETHER),
        chop=WAD,
        ilk_hole=rad(80 * ETHER) + ray(ETHER),
    )
    assert (b.tab, b.dink, b.dart) == (rad(100 * ETHER), 40 * ETHER, 100 * ETHER)


def test_bark_not_leaving_dust_rate():
    """clip.t.sol::test_bark_not_leaving_dust_rate: rate 1.02, room 100 leaves ≈ 2 < 20: all."""
    rate = ray(102 * ETHER // 100)
    b = _bark(
        ink=40 * WAD,
        art=100 * WAD,
        rate=rate,
        spot=2 * RAY,
        dust=20 * RAD,
        chop=WAD,
        ilk_hole=100 * RAD,
    )
    assert (b.tab, b.dink, b.dart) == (100 * ETHER * rate, 40 * ETHER, 100 * ETHER)


def test_bark_only_leaving_dust_over_hole_rate():
    """clip.t.sol::test_bark_only_leaving_dust_over_hole_rate: remnant 20 × 1.02 equals dust."""
    rate = ray(102 * ETHER // 100)
    b = _bark(
        ink=40 * WAD,
        art=100 * WAD,
        rate=rate,
        spot=2 * RAY,
        dust=204 * RAD // 10,
        chop=WAD,
        ilk_hole=816 * RAD // 10,
    )
    assert (b.tab, b.dink) == (816 * RAD // 10, 32 * ETHER)
    assert (100 * WAD - b.dart) * rate == 204 * RAD // 10


def test_bark_partial_liquidation_hole_limit():
    """clip.t.sol::test_partial_liquidation_{Hole,hole}_limit: tab = 75 − 0.2 ray from rounding."""
    chop = 11 * WAD // 10
    for limit in ("ilk_hole", "global_hole"):
        b = _bark(
            ink=40 * WAD,
            art=100 * WAD,
            spot=2 * RAY,
            dust=rad(20 * ETHER),
            chop=chop,
            **{limit: rad(75 * ETHER)},
        )
        assert b.tab == rad(75 * ETHER) - ray(ETHER // 5)
        assert b.dart == b.tab * WAD // RAY // chop
        assert b.dink == 40 * ETHER * b.dart // (100 * ETHER)


def test_bark_keeper_incentive_clip_t_sol_kick():
    """clip.t.sol::test_kick: tip 100 pays 100; tip 100 and chip 2 % of a 110 tab pay 102.2."""
    common = {"ink": 40 * WAD, "art": 100 * WAD, "spot": 2 * RAY, "dust": rad(20 * ETHER)}
    first = _bark(**common, tip=rad(100 * ETHER))
    assert (first.tab, first.coin) == (rad(110 * ETHER), rad(100 * ETHER))
    second = _bark(**common, tip=rad(100 * ETHER), chip=2 * WAD // 100)
    assert second.coin == rad(100 * ETHER) + second.tab * (2 * WAD // 100) // WAD
    assert keeper_incentive(rad(110 * ETHER), 0, 0) == 0


# --- Abacus -----------------------------------------------------------------------------------


def test_linear_decrease_abaci_t_sol():
    """abaci.t.sol::test_linear_decrease: tau 1 h, top 1,000: −100 every 6 minutes, 0 at 1 h."""
    top = 1_000 * RAY
    for k in range(11):
        assert linear_decrease(top, 360 * k, 3_600) == (1_000 - 100 * k) * RAY


def test_linear_decrease_floors_fraction_then_product():
    """abaci.sol: rmul(top, (tau − dur)·RAY / tau): top 3 ray, 1 s of 3 s → 2 − 2e-27 ray."""
    # (3 − 1)·1e27 // 3 = 666…666 (27 digits); × 3e27 // 1e27 = 1,999…998.
    assert linear_decrease(3 * RAY, 1, 3) == 2 * RAY - 2
    assert linear_decrease(3 * RAY, 5, 3) == 0


@pytest.mark.parametrize("top", [50_000_000 * RAY, RAY // 10_000_000])
@pytest.mark.parametrize(
    ("pct", "step"),
    [
        (11_234_567_890, 1),
        (21_234_567_890, 1),
        (11_234_567_890, 5),
        (21_234_567_890, 5),
        (11_234_567_890, 300),
    ],
)
def test_stairstep_exp_decrease_abaci_t_sol(top, pct, step):
    """abaci.t.sol::test_stairstep_exp_decrease: each step multiplies the last price by cut."""
    cut = RAY - pct * 10**17 // 100  # RAY − 1.1234567890E27 / 100
    tolerance = 100_000_000 if top > RAY else 1
    price = stairstep_exponential_decrease(top, 0, step, cut)
    assert price == top
    for i in range(1, 600):
        last, price = price, stairstep_exponential_decrease(top, i, step, cut)
        expected = last * cut // RAY if i % step == 0 else last
        assert abs(price - expected) <= tolerance


def test_continuous_exp_decrease_abaci_t_sol():
    """abaci.t.sol::test_continuous_exp_decrease: a 900 s half-life halves 4,000 four times."""
    cut = 999_230_132_966 * 10**15
    expected = 4_000 * RAY
    for i in range(5):
        assert abs(exponential_decrease(4_000 * RAY, i * 900, cut) - expected) <= RAY // 1_000
        expected //= 2


def test_stairstep_price_after_n_eth_a_steps():
    """ETH-A (step 90 s, cut 0.99): after 2 and 3 steps top × 0.9801 and × 0.970299, exactly."""
    top = clipper_top(2_000 * RAY, 11 * RAY // 10)  # $2,000 feed × buf 1.10 = $2,200
    assert top == 2_200 * RAY
    cut = 99 * RAY // 100
    assert stairstep_exponential_decrease(top, 179, 90, cut) == 2_200 * 99 * RAY // 100
    assert stairstep_exponential_decrease(top, 180, 90, cut) == 215_622 * RAY // 100  # 2,156.22
    assert stairstep_exponential_decrease(top, 270, 90, cut) == 2_134_657_8 * RAY // 10_000


def test_clip_prices_from_clip_t_sol():
    """clip.t.sol: 5 × 0.99**60 = 2.7358… (…no_more_lot) and 5 × 0.99**100 = 1.8302… (redo)."""
    assert (
        stairstep_exponential_decrease(5 * RAY, 60, 1, CUT_1PCT)
        == 2_735_783_211_953_807_380_973_706_855
    )
    assert exponential_decrease(5 * RAY, 100, CUT_1PCT) == 1_830_161_706_366_147_524_653_080_130


def test_exponential_equals_stairstep_with_unit_step():
    """abaci.sol comment: ExponentialDecrease is the stairstep with step = 1."""
    for dur in (0, 1, 7, 89, 1_000, 7_201):
        assert exponential_decrease(7 * RAY, dur, CUT_1PCT) == stairstep_exponential_decrease(
            7 * RAY, dur, 1, CUT_1PCT
        )


def test_decrease_rejects_cut_above_one():
    """abaci.sol file(): cut > RAY is refused (…Decrease/cut-gt-RAY)."""
    with pytest.raises(ValueError, match="cut"):
        exponential_decrease(RAY, 1, RAY + 1)


# --- Clipper ----------------------------------------------------------------------------------

CHOST = 22 * RAD  # clip.t.sol: wmul(20 DAI dust, 1.1 chop)


def _take(
    amt: int,
    *,
    tab: int = rad(110 * ETHER),
    lot: int = 40 * ETHER,
    price: int = ray(5 * ETHER),
    max_price: int = ray(5 * ETHER),
):
    return take_amounts(tab=tab, lot=lot, amt=amt, max_price=max_price, price=price, chost=CHOST)


def test_upchost_is_dust_times_chop():
    """clip.t.sol::test_redo_incentive: chost = wmul(dust, chop): 22 DAI, then 110 DAI + 1."""
    assert upchost(rad(20 * ETHER), 11 * WAD // 10) == CHOST
    assert upchost(rad(100 * ETHER) + 1, 11 * WAD // 10) == 110 * RAD + 1


def test_take_over_tab_caps_owe_at_tab():
    """clip.t.sol::test_take_over_tab: 25 gold at $5 = 125 > 110, so 22 gold for 110; 18 back."""
    t = _take(25 * ETHER)
    assert (t.slice, t.owe, t.tab, t.lot) == (22 * ETHER, rad(110 * ETHER), 0, 18 * ETHER)


def test_take_at_tab():
    """clip.t.sol::test_take_at_tab: 22 gold at $5 is exactly the 110 tab."""
    t = _take(22 * ETHER)
    assert (t.slice, t.owe, t.tab, t.lot) == (22 * ETHER, rad(110 * ETHER), 0, 18 * ETHER)


def test_take_under_tab_is_partial():
    """clip.t.sol::test_take_under_tab: 11 gold for 55; 55 of tab and 29 gold remain."""
    t = _take(11 * ETHER)
    assert (t.slice, t.owe, t.tab, t.lot) == (
        11 * ETHER,
        rad(55 * ETHER),
        rad(55 * ETHER),
        29 * ETHER,
    )


def test_take_full_lot_partial_tab():
    """clip.t.sol::test_take_full_lot_partial_tab: at 69 s (≈ $2.50) 40 gold raise ≈ 100 < 110."""
    price = stairstep_exponential_decrease(ray(5 * ETHER), 69, 1, CUT_1PCT)
    t = _take(40 * ETHER, price=price, max_price=ray(25 * ETHER // 10))
    assert (t.slice, t.lot) == (40 * ETHER, 0)
    assert 0 < rad(100 * ETHER) - t.owe < rad(ETHER // 10)
    assert t.tab == rad(110 * ETHER) - t.owe  # not raised: stays with the Vow as bad debt


def test_take_too_expensive_reverts():
    """clip.t.sol::testFail_take_bid_too_low: max 4 < price 5."""
    with pytest.raises(ClipperReverted, match="Clipper/too-expensive"):
        _take(22 * ETHER, max_price=ray(4 * ETHER))


def test_take_recalculates_to_leave_chost():
    """clip.t.sol::test_take_bid_recalculates_due_to_chost_check: 18 gold would leave 20 < 22."""
    t = _take(18 * WAD)
    assert t.tab == CHOST
    assert t.lot == 40 * ETHER - (110 * RAD - CHOST) // ray(5 * ETHER)  # 22.4 gold
    assert t.owe == 88 * RAD


def test_take_whole_lot_ignores_chost():
    """clip.t.sol::test_take_bid_avoids_recalculate_due_no_more_lot: 40 × 2.7358 = 109.43 < 110."""
    price = 2_735_783_211_953_807_380_973_706_855
    t = _take(40 * ETHER, price=price, max_price=ray(28 * ETHER // 10))
    assert (t.tab - (rad(110 * ETHER) - 40 * ETHER * price), t.lot) == (0, 0)


def test_take_no_partial_purchase_at_or_below_chost():
    """clip.t.sol::test_take_bid_fails_no_partial_allowed: with tab 22 = chost only all of it."""
    first = _take(176 * ETHER // 10)
    assert (first.tab, first.lot) == (rad(22 * ETHER), 224 * ETHER // 10)
    with pytest.raises(ClipperReverted, match="Clipper/no-partial-purchase"):
        _take(ETHER, tab=first.tab, lot=first.lot)
    last = _take(first.tab // ray(5 * ETHER), tab=first.tab, lot=first.lot)
    assert (last.tab, last.lot) == (0, 18 * ETHER)


def test_needs_redo_tail_and_cusp():
    """clip.t.sol::test_auction_reset_{tail,cusp}: reset due at 3,601 s (tail) or 1,801 s (cusp)."""
    top = ray(5 * ETHER)
    slow = [linear_decrease(top, t, 36_000) for t in (3_600, 3_601)]
    assert [
        needs_redo(p, top, 0, t, 3_600, RAY // 2) for p, t in zip(slow, (3_600, 3_601), strict=True)
    ] == [
        False,
        True,
    ]
    fast = [linear_decrease(top, t, 3_600) for t in (1_800, 1_801)]
    assert [
        needs_redo(p, top, 0, t, 3_600, RAY // 2) for p, t in zip(fast, (1_800, 1_801), strict=True)
    ] == [
        False,
        True,
    ]


def test_redo_incentive_skips_dusty_sales():
    """clip.t.sol::test_redo_incentive: no coin if tab < chost or lot·feed < chost."""
    tip, chip = rad(100 * ETHER), 2 * WAD // 100
    assert redo_incentive(
        rad(110 * ETHER), 40 * ETHER, ray(4 * ETHER), tip, chip, CHOST
    ) == tip + rad(22 * ETHER // 10)
    assert (
        redo_incentive(rad(110 * ETHER), 40 * ETHER, ray(4 * ETHER), tip, chip, 110 * RAD + 1) == 0
    )
    assert redo_incentive(rad(50 * ETHER), 2 * ETHER, ray(4 * ETHER), tip, chip, CHOST) == 0
