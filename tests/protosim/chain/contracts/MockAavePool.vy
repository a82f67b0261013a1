# pragma version ~=0.4.3
"""
@title Aave-v3-like pool for protosim's chain-reader tests
@notice Exposes the read surface of Aave v3 IPool with the real ABI shapes:
        getReservesList() -> address[], getReserveData(asset) -> ReserveDataLegacy,
        getConfiguration(asset) -> (uint256), getUserConfiguration(user) -> (uint256),
        getUserAccountData(user) -> 6 x uint256, getUserEMode(user) -> uint256.
        The reserve configuration bitmap is encoded here on chain the way
        ReserveConfiguration.sol's setters do it (aave-dao/aave-v3-origin), so the
        Python decoder is checked against an independent encoder.
"""

struct ReserveConfigurationMap:
    data: uint256

struct UserConfigurationMap:
    data: uint256

struct ReserveDataLegacy:
    configuration: ReserveConfigurationMap
    liquidityIndex: uint128
    currentLiquidityRate: uint128
    variableBorrowIndex: uint128
    currentVariableBorrowRate: uint128
    currentStableBorrowRate: uint128
    lastUpdateTimestamp: uint40
    id: uint16
    aTokenAddress: address
    stableDebtTokenAddress: address
    variableDebtTokenAddress: address
    interestRateStrategyAddress: address
    accruedToTreasury: uint128
    unbacked: uint128
    isolationModeTotalDebt: uint128

struct AccountData:
    totalCollateralBase: uint256
    totalDebtBase: uint256
    availableBorrowsBase: uint256
    currentLiquidationThreshold: uint256
    ltv: uint256
    healthFactor: uint256

# Bit positions from ReserveConfiguration.sol (v3.0 layout, a superset of later ones).
LIQUIDATION_THRESHOLD_START: constant(uint256) = 16
LIQUIDATION_BONUS_START: constant(uint256) = 32
DECIMALS_START: constant(uint256) = 48
ACTIVE_BIT: constant(uint256) = 56
FROZEN_BIT: constant(uint256) = 57
BORROWING_BIT: constant(uint256) = 58
STABLE_BORROWING_BIT: constant(uint256) = 59
PAUSED_BIT: constant(uint256) = 60
BORROWABLE_IN_ISOLATION_BIT: constant(uint256) = 61
SILOED_BORROWING_BIT: constant(uint256) = 62
FLASHLOAN_ENABLED_BIT: constant(uint256) = 63
RESERVE_FACTOR_START: constant(uint256) = 64
BORROW_CAP_START: constant(uint256) = 80
SUPPLY_CAP_START: constant(uint256) = 116
LIQUIDATION_PROTOCOL_FEE_START: constant(uint256) = 152
EMODE_CATEGORY_START: constant(uint256) = 168
UNBACKED_MINT_CAP_START: constant(uint256) = 176
DEBT_CEILING_START: constant(uint256) = 212
VIRTUAL_ACC_BIT: constant(uint256) = 252

MAX_16: constant(uint256) = 65535
MAX_8: constant(uint256) = 255
MAX_CAP: constant(uint256) = 68719476735
MAX_DEBT_CEILING: constant(uint256) = 1099511627775

_reserves_list: DynArray[address, 128]
_reserves: HashMap[address, ReserveDataLegacy]
_user_config: HashMap[address, uint256]
_account: HashMap[address, AccountData]
_user_emode: HashMap[address, uint256]


@internal
@pure
def _set_field(data: uint256, field: uint256, start: uint256, width_max: uint256) -> uint256:
    assert field <= width_max, "value too large for its field"
    mask: uint256 = width_max << start
    return (data & (~mask)) | (field << start)


@internal
@pure
def _set_flag(data: uint256, on: bool, bit: uint256) -> uint256:
    flag: uint256 = 0
    if on:
        flag = 1
    return self._set_field(data, flag, bit, 1)


@external
def initReserve(
    asset: address,
    aToken: address,
    variableDebtToken: address,
    liquidityIndex: uint128,
    variableBorrowIndex: uint128,
):
    reserve_id: uint256 = len(self._reserves_list)
    self._reserves_list.append(asset)
    self._reserves[asset] = ReserveDataLegacy(
        configuration=ReserveConfigurationMap(data=0),
        liquidityIndex=liquidityIndex,
        currentLiquidityRate=0,
        variableBorrowIndex=variableBorrowIndex,
        currentVariableBorrowRate=0,
        currentStableBorrowRate=0,
        lastUpdateTimestamp=convert(block.timestamp, uint40),
        id=convert(reserve_id, uint16),
        aTokenAddress=aToken,
        stableDebtTokenAddress=empty(address),
        variableDebtTokenAddress=variableDebtToken,
        interestRateStrategyAddress=empty(address),
        accruedToTreasury=0,
        unbacked=0,
        isolationModeTotalDebt=0,
    )


@external
def setReserveParams(
    asset: address,
    ltv: uint256,
    liquidationThreshold: uint256,
    liquidationBonus: uint256,
    decimals: uint256,
    reserveFactor: uint256,
    borrowCap: uint256,
    supplyCap: uint256,
    liquidationProtocolFee: uint256,
    debtCeiling: uint256,
):
    data: uint256 = self._reserves[asset].configuration.data
    data = self._set_field(data, ltv, 0, MAX_16)
    data = self._set_field(data, liquidationThreshold, LIQUIDATION_THRESHOLD_START, MAX_16)
    data = self._set_field(data, liquidationBonus, LIQUIDATION_BONUS_START, MAX_16)
    data = self._set_field(data, decimals, DECIMALS_START, MAX_8)
    data = self._set_field(data, reserveFactor, RESERVE_FACTOR_START, MAX_16)
    data = self._set_field(data, borrowCap, BORROW_CAP_START, MAX_CAP)
    data = self._set_field(data, supplyCap, SUPPLY_CAP_START, MAX_CAP)
    data = self._set_field(data, liquidationProtocolFee, LIQUIDATION_PROTOCOL_FEE_START, MAX_16)
    data = self._set_field(data, debtCeiling, DEBT_CEILING_START, MAX_DEBT_CEILING)
    self._reserves[asset].configuration.data = data


@external
def setReserveFlags(
    asset: address,
    active: bool,
    frozen: bool,
    borrowingEnabled: bool,
    paused: bool,
    borrowableInIsolation: bool,
    siloedBorrowing: bool,
    flashLoanEnabled: bool,
):
    data: uint256 = self._reserves[asset].configuration.data
    data = self._set_flag(data, active, ACTIVE_BIT)
    data = self._set_flag(data, frozen, FROZEN_BIT)
    data = self._set_flag(data, borrowingEnabled, BORROWING_BIT)
    data = self._set_flag(data, paused, PAUSED_BIT)
    data = self._set_flag(data, borrowableInIsolation, BORROWABLE_IN_ISOLATION_BIT)
    data = self._set_flag(data, siloedBorrowing, SILOED_BORROWING_BIT)
    data = self._set_flag(data, flashLoanEnabled, FLASHLOAN_ENABLED_BIT)
    self._reserves[asset].configuration.data = data


@external
def setLegacyFields(
    asset: address,
    stableBorrowingEnabled: bool,
    eModeCategory: uint256,
    unbackedMintCap: uint256,
    virtualAccActive: bool,
):
    # Fields that v3.0/v3.1 pools still use and later versions left as holes.
    data: uint256 = self._reserves[asset].configuration.data
    data = self._set_flag(data, stableBorrowingEnabled, STABLE_BORROWING_BIT)
    data = self._set_field(data, eModeCategory, EMODE_CATEGORY_START, MAX_8)
    data = self._set_field(data, unbackedMintCap, UNBACKED_MINT_CAP_START, MAX_CAP)
    data = self._set_flag(data, virtualAccActive, VIRTUAL_ACC_BIT)
    self._reserves[asset].configuration.data = data


@external
def setUsingAsCollateral(user: address, reserveIndex: uint256, usingAsCollateral: bool):
    assert reserveIndex < 128, "invalid reserve index"
    bit: uint256 = 1 << ((reserveIndex << 1) + 1)
    if usingAsCollateral:
        self._user_config[user] = self._user_config[user] | bit
    else:
        self._user_config[user] = self._user_config[user] & (~bit)


@external
def setBorrowing(user: address, reserveIndex: uint256, borrowing: bool):
    assert reserveIndex < 128, "invalid reserve index"
    bit: uint256 = 1 << (reserveIndex << 1)
    if borrowing:
        self._user_config[user] = self._user_config[user] | bit
    else:
        self._user_config[user] = self._user_config[user] & (~bit)


@external
def setUserAccountData(
    user: address,
    totalCollateralBase: uint256,
    totalDebtBase: uint256,
    availableBorrowsBase: uint256,
    currentLiquidationThreshold: uint256,
    ltv: uint256,
    healthFactor: uint256,
):
    self._account[user] = AccountData(
        totalCollateralBase=totalCollateralBase,
        totalDebtBase=totalDebtBase,
        availableBorrowsBase=availableBorrowsBase,
        currentLiquidationThreshold=currentLiquidationThreshold,
        ltv=ltv,
        healthFactor=healthFactor,
    )


@external
def setUserEMode(user: address, category: uint256):
    self._user_emode[user] = category


@external
@view
def getReservesList() -> DynArray[address, 128]:
    return self._reserves_list


@external
@view
def getReserveData(asset: address) -> ReserveDataLegacy:
    return self._reserves[asset]


@external
@view
def getConfiguration(asset: address) -> ReserveConfigurationMap:
    return self._reserves[asset].configuration


@external
@view
def getUserConfiguration(user: address) -> UserConfigurationMap:
    return UserConfigurationMap(data=self._user_config[user])


@external
@view
def getUserEMode(user: address) -> uint256:
    return self._user_emode[user]


@external
@view
def getUserAccountData(user: address) -> (uint256, uint256, uint256, uint256, uint256, uint256):
    a: AccountData = self._account[user]
    hf: uint256 = a.healthFactor
    if a.totalDebtBase == 0:
        # Aave returns type(uint256).max when there is no debt.
        hf = max_value(uint256)
    return (
        a.totalCollateralBase,
        a.totalDebtBase,
        a.availableBorrowsBase,
        a.currentLiquidationThreshold,
        a.ltv,
        hf,
    )
