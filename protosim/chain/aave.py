"""Read an Aave v3 pool: reserves with decoded configuration, and users' positions.

Decoding is pure (:func:`decode_reserve_configuration`, :func:`decode_user_configuration`)
and follows aave-dao/aave-v3-origin ``ReserveConfiguration.sol`` and
``UserConfiguration.sol``. The reserve configuration bitmap is::

    bit   0-15  LTV (bps)                    bit  64-79  reserve factor (bps)
    bit  16-31  liquidation threshold (bps)  bit  80-115 borrow cap (whole tokens, 0 = none)
    bit  32-47  liquidation bonus (bps)      bit 116-151 supply cap (whole tokens, 0 = none)
    bit  48-55  decimals                     bit 152-167 liquidation protocol fee (bps)
    bit  56 active   57 frozen   58 borrowing enabled
    bit  59 stable borrowing (v3.0-3.1; a hole since v3.2)
    bit  60 paused   61 borrowable in isolation   62 siloed borrowing   63 flash loans
    bit 168-175 eMode category (v3.0-3.1; a hole since v3.2, which moved eModes to bitmaps)
    bit 176-211 unbacked mint cap (until v3.3; a hole since v3.4)
    bit 212-251 debt ceiling (isolation mode, 2 decimals, 0 = not isolated)
    bit 252     virtual accounting (v3.1+, always set since v3.4)

The user configuration holds two bits per reserve id ``i``: bit ``2i`` is set when the
user borrows the reserve, bit ``2i + 1`` when it is used as collateral.

Every ``eth_call`` of one snapshot is pinned to the same block, so reserves, balances
and account data are mutually consistent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from protosim.chain._files import write_text_atomic
from protosim.chain.chainlink import format_utc
from protosim.chain.errors import ChainReadError
from protosim.chain.rpc import RpcClient, to_address

__all__ = [
    "SNAPSHOT_FORMAT",
    "PoolSnapshot",
    "ReserveConfiguration",
    "ReserveData",
    "ReserveSnapshot",
    "UserAccountData",
    "UserConfiguration",
    "UserPosition",
    "UserReservePosition",
    "decode_reserve_configuration",
    "decode_user_configuration",
    "read_balance",
    "read_pool_snapshot",
    "read_reserve_data",
    "read_reserves_list",
    "read_user_account_data",
    "read_user_configuration",
    "snapshot_to_dict",
    "write_snapshot_json",
]

#: Identifies the JSON layout written by :func:`write_snapshot_json`.
SNAPSHOT_FORMAT = "protosim.chain.aave_v3_positions/1"

_RESERVE_DATA_TYPES = (
    "(uint256)",  # configuration (ReserveConfigurationMap)
    "uint128",  # liquidityIndex (ray)
    "uint128",  # currentLiquidityRate (ray)
    "uint128",  # variableBorrowIndex (ray)
    "uint128",  # currentVariableBorrowRate (ray)
    "uint128",  # currentStableBorrowRate; deprecated in v3.2
    "uint40",  # lastUpdateTimestamp
    "uint16",  # id: the reserve's slot in user configuration bitmaps
    "address",  # aTokenAddress
    "address",  # stableDebtTokenAddress; deprecated in v3.2
    "address",  # variableDebtTokenAddress
    "address",  # interestRateStrategyAddress; deprecated in v3.4
    "uint128",  # accruedToTreasury (scaled)
    "uint128",  # unbacked; deprecated in v3.4
    "uint128",  # isolationModeTotalDebt
)
_MAX_RESERVES = 128


def _bits(bitmap: int, start: int, width: int) -> int:
    return (bitmap >> start) & ((1 << width) - 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveConfiguration:
    """An Aave v3 reserve configuration bitmap, decoded.

    Attributes
    ----------
    ltv_bps, liquidation_threshold_bps, liquidation_bonus_bps : int
        Basis points; the bonus includes the principal (10500 = 5% bonus).
    decimals : int
        Decimals of the underlying token.
    active, frozen, borrowing_enabled, paused : bool
        Reserve state flags.
    stable_borrowing_enabled : bool
        Bit 59; meaningful on v3.0-3.1 only.
    borrowable_in_isolation, siloed_borrowing, flash_loan_enabled : bool
        Risk-mode flags.
    reserve_factor_bps, liquidation_protocol_fee_bps : int
        Basis points; the protocol fee is a share of the liquidation bonus.
    borrow_cap, supply_cap : int
        Whole tokens; 0 means no cap.
    emode_category : int
        Bits 168-175; meaningful on v3.0-3.1 only (0 elsewhere).
    unbacked_mint_cap : int
        Bits 176-211; meaningful before v3.4 only.
    debt_ceiling : int
        Isolation-mode debt ceiling in units of 0.01 of the base currency; 0 = not isolated.
    virtual_accounting : bool
        Bit 252.
    """

    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    decimals: int
    active: bool
    frozen: bool
    borrowing_enabled: bool
    stable_borrowing_enabled: bool
    paused: bool
    borrowable_in_isolation: bool
    siloed_borrowing: bool
    flash_loan_enabled: bool
    reserve_factor_bps: int
    borrow_cap: int
    supply_cap: int
    liquidation_protocol_fee_bps: int
    emode_category: int
    unbacked_mint_cap: int
    debt_ceiling: int
    virtual_accounting: bool


def decode_reserve_configuration(bitmap: int) -> ReserveConfiguration:
    """Decode an Aave v3 reserve configuration bitmap (``getConfiguration(asset).data``).

    Parameters
    ----------
    bitmap : int
        The ``uint256`` word.

    Returns
    -------
    ReserveConfiguration
        Every field of the layout in the module docstring.

    Examples
    --------
    WETH-like parameters: LTV 80.5% (8050 = 0x1F72) in bits 0-15, threshold 83%
    (8300 = 0x206C) in bits 16-31, bonus 105% (10500 = 0x2904) in bits 32-47,
    18 decimals (0x12) in bits 48-55, active (bit 56) and borrowing (bit 58):

    >>> bitmap = 0x1F72 | 0x206C << 16 | 0x2904 << 32 | 0x12 << 48 | 1 << 56 | 1 << 58
    >>> hex(bitmap)
    '0x5122904206c1f72'
    >>> c = decode_reserve_configuration(bitmap)
    >>> c.ltv_bps, c.liquidation_threshold_bps, c.liquidation_bonus_bps, c.decimals
    (8050, 8300, 10500, 18)
    >>> c.active, c.frozen, c.borrowing_enabled, c.paused
    (True, False, True, False)

    Reserve factor 15% (1500) in bits 64-79 and a supply cap of 1,800,000 tokens in
    bits 116-151:

    >>> c = decode_reserve_configuration(1500 << 64 | 1_800_000 << 116)
    >>> c.reserve_factor_bps, c.supply_cap, c.borrow_cap
    (1500, 1800000, 0)
    """
    if not 0 <= bitmap < 1 << 256:
        raise ValueError(f"expected a uint256 bitmap, was {bitmap}")
    return ReserveConfiguration(
        ltv_bps=_bits(bitmap, 0, 16),
        liquidation_threshold_bps=_bits(bitmap, 16, 16),
        liquidation_bonus_bps=_bits(bitmap, 32, 16),
        decimals=_bits(bitmap, 48, 8),
        active=bool(_bits(bitmap, 56, 1)),
        frozen=bool(_bits(bitmap, 57, 1)),
        borrowing_enabled=bool(_bits(bitmap, 58, 1)),
        stable_borrowing_enabled=bool(_bits(bitmap, 59, 1)),
        paused=bool(_bits(bitmap, 60, 1)),
        borrowable_in_isolation=bool(_bits(bitmap, 61, 1)),
        siloed_borrowing=bool(_bits(bitmap, 62, 1)),
        flash_loan_enabled=bool(_bits(bitmap, 63, 1)),
        reserve_factor_bps=_bits(bitmap, 64, 16),
        borrow_cap=_bits(bitmap, 80, 36),
        supply_cap=_bits(bitmap, 116, 36),
        liquidation_protocol_fee_bps=_bits(bitmap, 152, 16),
        emode_category=_bits(bitmap, 168, 8),
        unbacked_mint_cap=_bits(bitmap, 176, 36),
        debt_ceiling=_bits(bitmap, 212, 40),
        virtual_accounting=bool(_bits(bitmap, 252, 1)),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UserConfiguration:
    """An Aave v3 user configuration bitmap, decoded to reserve ids.

    Attributes
    ----------
    borrowing : tuple of int
        Reserve ids the user borrows (bit ``2i``).
    collateral : tuple of int
        Reserve ids the user uses as collateral (bit ``2i + 1``).
    """

    borrowing: tuple[int, ...]
    collateral: tuple[int, ...]


def decode_user_configuration(bitmap: int) -> UserConfiguration:
    """Decode an Aave v3 user configuration bitmap (``getUserConfiguration(user).data``).

    Parameters
    ----------
    bitmap : int
        The ``uint256`` word.

    Returns
    -------
    UserConfiguration
        Reserve ids borrowed and used as collateral, ascending.

    Examples
    --------
    Collateral in reserve 0 (bit 1), borrowing reserve 3 (bit 6), both in reserve 5
    (bits 10 and 11):

    >>> decode_user_configuration(1 << 1 | 1 << 6 | 1 << 10 | 1 << 11)
    UserConfiguration(borrowing=(3, 5), collateral=(0, 5))
    """
    if not 0 <= bitmap < 1 << 256:
        raise ValueError(f"expected a uint256 bitmap, was {bitmap}")
    borrowing = tuple(i for i in range(_MAX_RESERVES) if (bitmap >> (2 * i)) & 1)
    collateral = tuple(i for i in range(_MAX_RESERVES) if (bitmap >> (2 * i + 1)) & 1)
    return UserConfiguration(borrowing=borrowing, collateral=collateral)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveData:
    """``IPool.getReserveData(asset)`` (the ``ReserveDataLegacy`` layout every v3 pool returns).

    Attributes
    ----------
    configuration : int
        Raw configuration bitmap.
    liquidity_index, variable_borrow_index : int
        Ray (1e27) indices.
    current_liquidity_rate, current_variable_borrow_rate, current_stable_borrow_rate : int
        Ray per-year rates (stable: deprecated in v3.2).
    last_update_timestamp : int
        Unix seconds.
    id : int
        The reserve's slot in user configuration bitmaps.
    a_token, stable_debt_token, variable_debt_token, interest_rate_strategy : str
        Addresses (deprecated ones may be zero).
    accrued_to_treasury, unbacked, isolation_mode_total_debt : int
        Raw amounts.
    """

    configuration: int
    liquidity_index: int
    current_liquidity_rate: int
    variable_borrow_index: int
    current_variable_borrow_rate: int
    current_stable_borrow_rate: int
    last_update_timestamp: int
    id: int
    a_token: str
    stable_debt_token: str
    variable_debt_token: str
    interest_rate_strategy: str
    accrued_to_treasury: int
    unbacked: int
    isolation_mode_total_debt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAccountData:
    """``IPool.getUserAccountData(user)``.

    Attributes
    ----------
    total_collateral_base, total_debt_base, available_borrows_base : int
        In the pool's base currency (USD with 8 decimals on most markets).
    current_liquidation_threshold, ltv : int
        Weighted averages in basis points.
    health_factor : int
        WAD (1e18 = 1.0); ``2**256 - 1`` when the user has no debt.
    """

    total_collateral_base: int
    total_debt_base: int
    available_borrows_base: int
    current_liquidation_threshold: int
    ltv: int
    health_factor: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveSnapshot:
    """One reserve of a pool snapshot.

    Attributes
    ----------
    asset : str
        Underlying token address.
    symbol : str or None
        The underlying's ``symbol()``, when it answers one.
    data : ReserveData
        ``getReserveData``.
    configuration : ReserveConfiguration
        ``data.configuration`` decoded.
    """

    asset: str
    symbol: str | None
    data: ReserveData
    configuration: ReserveConfiguration


@dataclass(frozen=True, slots=True, kw_only=True)
class UserReservePosition:
    """A user's balances in one reserve.

    Attributes
    ----------
    asset : str
        Underlying token address.
    reserve_id : int
        The reserve's id.
    a_token_balance : int
        ``aToken.balanceOf(user)``: supplied amount with interest, underlying base units.
    variable_debt_balance : int
        ``variableDebtToken.balanceOf(user)``: debt with interest, underlying base units.
    collateral_enabled, borrowing : bool
        The user's configuration bits for this reserve.
    """

    asset: str
    reserve_id: int
    a_token_balance: int
    variable_debt_balance: int
    collateral_enabled: bool
    borrowing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class UserPosition:
    """One user's account in a pool snapshot.

    Attributes
    ----------
    user : str
        The account.
    account : UserAccountData
        ``getUserAccountData``.
    configuration : int
        Raw ``getUserConfiguration`` bitmap.
    emode_category : int or None
        ``getUserEMode``, when the pool answers it.
    reserves : tuple of UserReservePosition
        Reserves with a non-zero balance or a configuration bit set, by reserve id.
    """

    user: str
    account: UserAccountData
    configuration: int
    emode_category: int | None
    reserves: tuple[UserReservePosition, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolSnapshot:
    """An Aave v3 pool's reserves and selected users' positions at one block.

    Attributes
    ----------
    pool : str
        The ``Pool`` (proxy) address.
    chain_id, block_number, block_timestamp : int
        Where and when the snapshot was read (timestamp in Unix seconds).
    reserves : tuple of ReserveSnapshot
        In ``getReservesList()`` order.
    users : tuple of UserPosition
        In the order asked for.
    """

    pool: str
    chain_id: int
    block_number: int
    block_timestamp: int
    reserves: tuple[ReserveSnapshot, ...]
    users: tuple[UserPosition, ...]


def read_reserves_list(client: RpcClient, pool: str, *, block: int) -> list[str]:
    """Return ``getReservesList()``: the pool's reserve assets, in id order."""
    (assets,) = client.eth_call(pool, "getReservesList()", returns=("address[]",), block=block)
    return [to_address(a) for a in assets]


def read_reserve_data(client: RpcClient, pool: str, asset: str, *, block: int) -> ReserveData:
    """Return ``getReserveData(asset)``."""
    v = client.eth_call(
        pool, "getReserveData(address)", (asset,), returns=_RESERVE_DATA_TYPES, block=block
    )
    return ReserveData(
        configuration=int(v[0][0]),
        liquidity_index=int(v[1]),
        current_liquidity_rate=int(v[2]),
        variable_borrow_index=int(v[3]),
        current_variable_borrow_rate=int(v[4]),
        current_stable_borrow_rate=int(v[5]),
        last_update_timestamp=int(v[6]),
        id=int(v[7]),
        a_token=to_address(v[8]),
        stable_debt_token=to_address(v[9]),
        variable_debt_token=to_address(v[10]),
        interest_rate_strategy=to_address(v[11]),
        accrued_to_treasury=int(v[12]),
        unbacked=int(v[13]),
        isolation_mode_total_debt=int(v[14]),
    )


def read_user_account_data(
    client: RpcClient, pool: str, user: str, *, block: int
) -> UserAccountData:
    """Return ``getUserAccountData(user)``."""
    v = client.eth_call(
        pool, "getUserAccountData(address)", (user,), returns=("uint256",) * 6, block=block
    )
    return UserAccountData(
        total_collateral_base=int(v[0]),
        total_debt_base=int(v[1]),
        available_borrows_base=int(v[2]),
        current_liquidation_threshold=int(v[3]),
        ltv=int(v[4]),
        health_factor=int(v[5]),
    )


def read_user_configuration(client: RpcClient, pool: str, user: str, *, block: int) -> int:
    """Return the raw ``getUserConfiguration(user)`` bitmap."""
    (config,) = client.eth_call(
        pool, "getUserConfiguration(address)", (user,), returns=("(uint256)",), block=block
    )
    return int(config[0])


def read_balance(client: RpcClient, token: str, holder: str, *, block: int) -> int:
    """Return ``token.balanceOf(holder)`` in base units."""
    (balance,) = client.eth_call(
        token, "balanceOf(address)", (holder,), returns=("uint256",), block=block
    )
    return int(balance)


def _optional(read: Callable[[], Any]) -> Any:
    # Optional extras (symbol, eMode) are absent on some contracts or versions; a revert
    # or an undecodable answer means "not available", while an unreachable node still fails.
    try:
        return read()
    except ChainReadError as exc:
        if exc.kind in ("reverted", "malformed"):
            return None
        raise


def _read_symbol(client: RpcClient, token: str, block: int) -> str | None:
    def as_string() -> str:
        return str(client.eth_call(token, "symbol()", returns=("string",), block=block)[0])

    def as_bytes32() -> str:
        # A few old tokens (MKR, SAI) return symbol() as bytes32.
        raw = client.eth_call(token, "symbol()", returns=("bytes32",), block=block)[0]
        return bytes(raw).rstrip(b"\0").decode("utf-8", errors="replace")

    symbol = _optional(as_string)
    if symbol is None:
        symbol = _optional(as_bytes32)
    return symbol if isinstance(symbol, str) else None


def _read_user(
    client: RpcClient, pool: str, user: str, reserves: Sequence[ReserveSnapshot], block: int
) -> UserPosition:
    account = read_user_account_data(client, pool, user, block=block)
    bitmap = read_user_configuration(client, pool, user, block=block)
    emode = _optional(
        lambda: int(
            client.eth_call(
                pool, "getUserEMode(address)", (user,), returns=("uint256",), block=block
            )[0]
        )
    )
    positions = []
    for reserve in reserves:
        rid = reserve.data.id
        borrowing = bool((bitmap >> (2 * rid)) & 1)
        collateral = bool((bitmap >> (2 * rid + 1)) & 1)
        supplied = read_balance(client, reserve.data.a_token, user, block=block)
        debt = read_balance(client, reserve.data.variable_debt_token, user, block=block)
        if supplied or debt or borrowing or collateral:
            positions.append(
                UserReservePosition(
                    asset=reserve.asset,
                    reserve_id=rid,
                    a_token_balance=supplied,
                    variable_debt_balance=debt,
                    collateral_enabled=collateral,
                    borrowing=borrowing,
                )
            )
    positions.sort(key=lambda p: p.reserve_id)
    return UserPosition(
        user=user,
        account=account,
        configuration=bitmap,
        emode_category=emode,
        reserves=tuple(positions),
    )


def read_pool_snapshot(
    client: RpcClient,
    pool: str,
    users: Sequence[str] = (),
    *,
    block: int | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> PoolSnapshot:
    """Read an Aave v3 pool's reserves and `users`' positions at one block.

    Parameters
    ----------
    client : RpcClient
        The node to read from.
    pool : str
        The ``Pool`` (proxy) address.
    users : sequence of str
        Accounts whose positions to read (none: reserves only).
    block : int, optional
        Block to read at; the node's latest block when omitted.
    on_progress : callable, optional
        Called with a short note after each reserve and each user.

    Returns
    -------
    PoolSnapshot
        Reserves (with decoded configuration) and positions, all at `block`.
    """
    pool = to_address(pool)
    accounts = [to_address(u) for u in users]
    at = client.block_number() if block is None else block
    chain_id = client.chain_id()
    timestamp = client.block_timestamp(at)
    reserves = []
    for asset in read_reserves_list(client, pool, block=at):
        data = read_reserve_data(client, pool, asset, block=at)
        reserves.append(
            ReserveSnapshot(
                asset=asset,
                symbol=_read_symbol(client, asset, at),
                data=data,
                configuration=decode_reserve_configuration(data.configuration),
            )
        )
        if on_progress is not None:
            on_progress(f"reserve {asset}")
    positions = []
    for user in accounts:
        positions.append(_read_user(client, pool, user, reserves, at))
        if on_progress is not None:
            on_progress(f"user {user}")
    return PoolSnapshot(
        pool=pool,
        chain_id=chain_id,
        block_number=at,
        block_timestamp=timestamp,
        reserves=tuple(reserves),
        users=tuple(positions),
    )


def _amounts_as_strings(record: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    # uint256 amounts overflow JSON numbers in most readers (JavaScript, DuckDB, pandas'
    # float64): write them as decimal strings; small parameters stay numbers.
    return {k: (str(v) if k in keys else v) for k, v in record.items()}


def snapshot_to_dict(snapshot: PoolSnapshot) -> dict[str, Any]:
    """Return `snapshot` as the JSON-ready dict that :func:`write_snapshot_json` writes.

    Base-unit amounts, ray indices and bitmaps are decimal strings (bitmaps also as
    hex); basis points, decimals, ids and flags are numbers.
    """
    big_reserve_keys = (
        "liquidity_index",
        "current_liquidity_rate",
        "variable_borrow_index",
        "current_variable_borrow_rate",
        "current_stable_borrow_rate",
        "accrued_to_treasury",
        "unbacked",
        "isolation_mode_total_debt",
    )
    reserves = []
    for r in snapshot.reserves:
        data = asdict(r.data)
        bitmap = data.pop("configuration")
        reserves.append(
            {
                "asset": r.asset,
                "symbol": r.symbol,
                "configuration_bitmap": hex(bitmap),
                "configuration": asdict(r.configuration),
                **_amounts_as_strings(data, big_reserve_keys),
            }
        )
    account_keys = (
        "total_collateral_base",
        "total_debt_base",
        "available_borrows_base",
        "health_factor",
    )
    users = [
        {
            "user": u.user,
            "emode_category": u.emode_category,
            "configuration_bitmap": hex(u.configuration),
            "account": _amounts_as_strings(asdict(u.account), account_keys),
            "reserves": [
                _amounts_as_strings(asdict(p), ("a_token_balance", "variable_debt_balance"))
                for p in u.reserves
            ],
        }
        for u in snapshot.users
    ]
    return {
        "format": SNAPSHOT_FORMAT,
        "pool": snapshot.pool,
        "chain_id": snapshot.chain_id,
        "block_number": snapshot.block_number,
        "block_timestamp": format_utc(snapshot.block_timestamp),
        "reserves": reserves,
        "users": users,
    }


def write_snapshot_json(path: str | Path, snapshot: PoolSnapshot) -> Path:
    """Write `snapshot` as JSON (sorted keys, 2-space indent), atomically.

    Returns
    -------
    Path
        The file written.
    """
    text = json.dumps(snapshot_to_dict(snapshot), indent=2, sort_keys=True) + "\n"
    return write_text_atomic(path, text)
