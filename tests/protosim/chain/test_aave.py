"""Tests of protosim.chain.aave: bitmap decoding and pool snapshots read from a real EVM."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from protosim.chain.aave import (
    SNAPSHOT_FORMAT,
    ReserveConfiguration,
    decode_reserve_configuration,
    decode_user_configuration,
    read_pool_snapshot,
    write_snapshot_json,
)
from protosim.chain.errors import ChainReadError
from protosim.chain.rpc import RpcClient

MAX_UINT256 = 2**256 - 1
RAY = 10**27

# Masks copied verbatim from aave-dao/aave-v3-origin ReserveConfiguration.sol, and the
# v3.0 fields from aave/aave-v3-core (start bits 59, 168, 176; widths 1, 8, 36).
SOLIDITY_MASKS = {
    "ltv_bps": 0x000000000000000000000000000000000000000000000000000000000000FFFF,
    "liquidation_threshold_bps": 0x00000000000000000000000000000000000000000000000000000000FFFF0000,
    "liquidation_bonus_bps": 0x0000000000000000000000000000000000000000000000000000FFFF00000000,
    "decimals": 0x00000000000000000000000000000000000000000000000000FF000000000000,
    "active": 0x0000000000000000000000000000000000000000000000000100000000000000,
    "frozen": 0x0000000000000000000000000000000000000000000000000200000000000000,
    "borrowing_enabled": 0x0000000000000000000000000000000000000000000000000400000000000000,
    "stable_borrowing_enabled": 1 << 59,
    "paused": 0x0000000000000000000000000000000000000000000000001000000000000000,
    "borrowable_in_isolation": 0x0000000000000000000000000000000000000000000000002000000000000000,
    "siloed_borrowing": 0x0000000000000000000000000000000000000000000000004000000000000000,
    "flash_loan_enabled": 0x0000000000000000000000000000000000000000000000008000000000000000,
    "reserve_factor_bps": 0x00000000000000000000000000000000000000000000FFFF0000000000000000,
    "borrow_cap": 0x00000000000000000000000000000000000FFFFFFFFF00000000000000000000,
    "supply_cap": 0x00000000000000000000000000FFFFFFFFF00000000000000000000000000000,
    "liquidation_protocol_fee_bps": (
        0x0000000000000000000000FFFF00000000000000000000000000000000000000
    ),
    "emode_category": 0xFF << 168,
    "unbacked_mint_cap": 0xFFFFFFFFF << 176,
    "debt_ceiling": 0x0FFFFFFFFFF00000000000000000000000000000000000000000000000000000,
    "virtual_accounting": 0x1000000000000000000000000000000000000000000000000000000000000000,
}


def _zero_config() -> dict[str, Any]:
    return {
        f.name: (False if f.type in ("bool", bool) else 0)
        for f in dataclasses.fields(ReserveConfiguration)
    }


def test_masks_cover_every_field_once_without_overlap() -> None:
    """The Solidity masks are disjoint and name every decoded field (bits 253-255 unused)."""
    assert set(SOLIDITY_MASKS) == {f.name for f in dataclasses.fields(ReserveConfiguration)}
    union = 0
    for mask in SOLIDITY_MASKS.values():
        assert union & mask == 0
        union |= mask
    assert union == (1 << 253) - 1


@pytest.mark.parametrize("field", sorted(SOLIDITY_MASKS))
def test_decode_reserve_configuration_reads_each_field_from_its_mask(field: str) -> None:
    """A bitmap equal to one field's mask decodes to all-ones in that field and zero elsewhere."""
    mask = SOLIDITY_MASKS[field]
    shift = (mask & -mask).bit_length() - 1
    expected = _zero_config()
    expected[field] = (
        True if mask >> shift == 1 and isinstance(expected[field], bool) else mask >> shift
    )
    assert dataclasses.asdict(decode_reserve_configuration(mask)) == expected


def test_decode_reserve_configuration_rejects_non_uint256() -> None:
    """Negative or 257-bit values are not configuration words."""
    for bad in (-1, 1 << 256):
        with pytest.raises(ValueError, match="uint256"):
            decode_reserve_configuration(bad)


def test_decode_user_configuration_pairs_bits_per_reserve() -> None:
    """Bit 2i is borrowing reserve i, bit 2i+1 is collateral in reserve i, up to reserve 127."""
    bitmap = (1 << 0) | (1 << 3) | (1 << 254) | (1 << 255)
    decoded = decode_user_configuration(bitmap)
    assert decoded.borrowing == (0, 127)
    assert decoded.collateral == (1, 127)
    assert decode_user_configuration(0) == decode_user_configuration(0)
    assert decode_user_configuration(0).borrowing == ()


# ---- an Aave-like pool on chain ------------------------------------------------------

WETH = {
    "ltv": 8050,
    "liquidationThreshold": 8300,
    "liquidationBonus": 10500,
    "decimals": 18,
    "reserveFactor": 1500,
    "borrowCap": 1_400_000,
    "supplyCap": 1_800_000,
    "liquidationProtocolFee": 1000,
    "debtCeiling": 0,
}
USDC = {
    "ltv": 7500,
    "liquidationThreshold": 7800,
    "liquidationBonus": 10450,
    "decimals": 6,
    "reserveFactor": 1000,
    "borrowCap": 2**36 - 1,
    "supplyCap": 0,
    "liquidationProtocolFee": 1000,
    "debtCeiling": 0,
}
WBTC = {
    "ltv": 7300,
    "liquidationThreshold": 7800,
    "liquidationBonus": 10500,
    "decimals": 8,
    "reserveFactor": 2000,
    "borrowCap": 0,
    "supplyCap": 43_000,
    "liquidationProtocolFee": 65535,
    "debtCeiling": 2**40 - 1,
}
FLAGS = {
    "WETH": (True, False, True, False, False, False, True),
    "USDC": (True, False, True, False, True, False, True),
    "WBTC": (True, True, False, True, False, True, False),
}
LEGACY = {
    "WETH": (False, 1, 0, True),
    "USDC": (True, 2, 5_000_000, True),
    "WBTC": (False, 0, 2**36 - 1, False),
}


def _expected_config(
    params: dict[str, int], flags: tuple[bool, ...], legacy: tuple[Any, ...]
) -> ReserveConfiguration:
    active, frozen, borrowing, paused, isolation, siloed, flash = flags
    stable, emode, unbacked, virtual = legacy
    return ReserveConfiguration(
        ltv_bps=params["ltv"],
        liquidation_threshold_bps=params["liquidationThreshold"],
        liquidation_bonus_bps=params["liquidationBonus"],
        decimals=params["decimals"],
        active=active,
        frozen=frozen,
        borrowing_enabled=borrowing,
        stable_borrowing_enabled=stable,
        paused=paused,
        borrowable_in_isolation=isolation,
        siloed_borrowing=siloed,
        flash_loan_enabled=flash,
        reserve_factor_bps=params["reserveFactor"],
        borrow_cap=params["borrowCap"],
        supply_cap=params["supplyCap"],
        liquidation_protocol_fee_bps=params["liquidationProtocolFee"],
        emode_category=emode,
        unbacked_mint_cap=unbacked,
        debt_ceiling=params["debtCeiling"],
        virtual_accounting=virtual,
    )


@dataclasses.dataclass
class AavePool:
    chain: Any
    bridge: Any
    pool: str
    assets: dict[str, str]
    a_tokens: dict[str, str]
    debt_tokens: dict[str, str]
    users: dict[str, str]
    block: int


@pytest.fixture(scope="module")
def aave_pool(chain_factory: Callable[[], Any], serve: Any) -> Iterator[AavePool]:
    """Three reserves; alice borrows USDC on WETH and WBTC, bob supplies USDC, carol has nothing."""
    chain = chain_factory()
    pool = chain.deploy("MockAavePool")
    assets, a_tokens, debt_tokens = {}, {}, {}
    for name, params, index in (
        ("WETH", WETH, 1_02 * RAY // 100),
        ("USDC", USDC, RAY),
        ("WBTC", WBTC, 1_05 * RAY // 100),
    ):
        underlying = chain.deploy("MockToken", f"Wrapped {name}", name, params["decimals"])
        a_token = chain.deploy("MockToken", f"Aave {name}", f"a{name}", params["decimals"])
        debt = chain.deploy("MockToken", f"Debt {name}", f"variableDebt{name}", params["decimals"])
        chain.transact(
            pool.functions.initReserve(
                underlying.address, a_token.address, debt.address, index, index + RAY // 10
            )
        )
        chain.transact(pool.functions.setReserveParams(underlying.address, *params.values()))
        chain.transact(pool.functions.setReserveFlags(underlying.address, *FLAGS[name]))
        chain.transact(pool.functions.setLegacyFields(underlying.address, *LEGACY[name]))
        assets[name], a_tokens[name], debt_tokens[name] = underlying.address, a_token, debt
    alice, bob, carol = chain.accounts[1:4]
    balances = [
        (a_tokens["WETH"], alice, 10 * 10**18),
        (a_tokens["WBTC"], alice, 25_000_000),
        (debt_tokens["USDC"], alice, 12_345_678_901),
        (a_tokens["USDC"], bob, 5_000 * 10**6),
    ]
    for token, holder, amount in balances:
        chain.transact(token.functions.setBalance(holder, amount))
    chain.transact(pool.functions.setUsingAsCollateral(alice, 0, True))
    chain.transact(pool.functions.setUsingAsCollateral(alice, 2, True))
    chain.transact(pool.functions.setBorrowing(alice, 1, True))
    chain.transact(
        pool.functions.setUserAccountData(
            alice,
            3_780_000_000_000,
            1_234_567_890_100,
            1_500_000_000_000,
            8150,
            7900,
            1_249_000_000_000_000_000,
        )
    )
    chain.transact(
        pool.functions.setUserAccountData(bob, 500_000_000_000, 0, 375_000_000_000, 7800, 7500, 0)
    )
    chain.transact(pool.functions.setUserEMode(alice, 1))
    with serve(chain) as bridge:
        yield AavePool(
            chain=chain,
            bridge=bridge,
            pool=pool.address,
            assets=assets,
            a_tokens={k: v.address for k, v in a_tokens.items()},
            debt_tokens={k: v.address for k, v in debt_tokens.items()},
            users={"alice": alice, "bob": bob, "carol": carol},
            block=chain.latest,
        )


def test_reserves_decoded_exactly_as_configured_on_chain(
    aave_pool: AavePool, make_client: Callable[..., RpcClient]
) -> None:
    """Every configuration field the pool encoded on chain decodes to the value it was given."""
    snapshot = read_pool_snapshot(make_client(aave_pool.bridge.url), aave_pool.pool)
    assert [r.asset for r in snapshot.reserves] == list(aave_pool.assets.values())
    for (name, params), reserve in zip(
        (("WETH", WETH), ("USDC", USDC), ("WBTC", WBTC)), snapshot.reserves, strict=True
    ):
        assert reserve.symbol == name
        assert reserve.configuration == _expected_config(params, FLAGS[name], LEGACY[name])
        assert reserve.data.a_token == aave_pool.a_tokens[name]
        assert reserve.data.variable_debt_token == aave_pool.debt_tokens[name]
    assert [r.data.id for r in snapshot.reserves] == [0, 1, 2]
    assert snapshot.reserves[0].data.liquidity_index == 102 * RAY // 100
    assert snapshot.reserves[2].data.variable_borrow_index == 105 * RAY // 100 + RAY // 10


def test_user_positions_match_balances_and_bitmaps(
    aave_pool: AavePool, make_client: Callable[..., RpcClient]
) -> None:
    """Balances, collateral/borrowing bits, account data and eMode are read as written."""
    users = aave_pool.users
    snapshot = read_pool_snapshot(
        make_client(aave_pool.bridge.url),
        aave_pool.pool,
        [users["alice"], users["bob"], users["carol"]],
    )
    alice, bob, carol = snapshot.users
    assert [
        (p.asset, p.a_token_balance, p.variable_debt_balance, p.collateral_enabled, p.borrowing)
        for p in alice.reserves
    ] == [
        (aave_pool.assets["WETH"], 10 * 10**18, 0, True, False),
        (aave_pool.assets["USDC"], 0, 12_345_678_901, False, True),
        (aave_pool.assets["WBTC"], 25_000_000, 0, True, False),
    ]
    assert alice.configuration == (1 << 1) | (1 << 5) | (1 << 2)
    assert decode_user_configuration(alice.configuration).collateral == (0, 2)
    assert alice.account.total_collateral_base == 3_780_000_000_000
    assert alice.account.health_factor == 1_249_000_000_000_000_000
    assert alice.account.current_liquidation_threshold == 8150
    assert alice.emode_category == 1
    assert [(p.asset, p.a_token_balance, p.collateral_enabled) for p in bob.reserves] == [
        (aave_pool.assets["USDC"], 5_000 * 10**6, False)
    ]
    assert bob.account.health_factor == MAX_UINT256  # no debt
    assert carol.reserves == ()
    assert carol.configuration == 0


def test_snapshot_is_pinned_to_one_block(
    aave_pool: AavePool, make_client: Callable[..., RpcClient]
) -> None:
    """Every eth_call of a snapshot names the same block, the one recorded in the snapshot."""
    client = make_client(aave_pool.bridge.url)
    aave_pool.bridge.methods.clear()
    snapshot = read_pool_snapshot(
        client, aave_pool.pool, [aave_pool.users["alice"]], block=aave_pool.block
    )
    blocks = {params[1] for params in aave_pool.bridge.calls("eth_call")}
    assert blocks == {hex(aave_pool.block)}
    assert snapshot.block_number == aave_pool.block
    assert snapshot.block_timestamp == aave_pool.chain.timestamp(aave_pool.block)


def test_snapshot_json_round_trips_amounts_exactly(
    aave_pool: AavePool, make_client: Callable[..., RpcClient], tmp_path: Path
) -> None:
    """The JSON file has the format tag, exact amounts as strings and decoded configuration."""
    users = [aave_pool.users["alice"], aave_pool.users["bob"]]
    snapshot = read_pool_snapshot(make_client(aave_pool.bridge.url), aave_pool.pool, users)
    data = json.loads(write_snapshot_json(tmp_path / "aave.json", snapshot).read_text())
    assert data["format"] == SNAPSHOT_FORMAT
    assert data["pool"] == aave_pool.pool
    assert data["block_timestamp"].endswith("Z")
    weth = data["reserves"][0]
    assert weth["symbol"] == "WETH"
    assert weth["configuration"]["liquidation_threshold_bps"] == 8300
    assert int(weth["configuration_bitmap"], 16) == snapshot.reserves[0].data.configuration
    assert weth["liquidity_index"] == str(102 * RAY // 100)
    alice = data["users"][0]
    assert alice["account"]["health_factor"] == "1249000000000000000"
    assert data["users"][1]["account"]["health_factor"] == str(MAX_UINT256)
    assert alice["reserves"][1]["variable_debt_balance"] == "12345678901"
    assert [p.name for p in tmp_path.iterdir()] == ["aave.json"]


def test_address_that_is_not_a_pool_raises_naming_call(
    aave_pool: AavePool, make_client: Callable[..., RpcClient]
) -> None:
    """Pointing the reader at a token instead of a pool fails on getReservesList, naming it."""
    token = aave_pool.assets["WETH"]
    with pytest.raises(
        ChainReadError, match=rf"eth_call getReservesList\(\) at block \d+ on {token}: reverted"
    ):
        read_pool_snapshot(make_client(aave_pool.bridge.url), token)
