# pragma version ~=0.4.3
"""
@title Uniswap-v3-like pool oracle for protosim's chain-reader tests
@notice slot0() and observe(uint32[]) with the real ABI shapes of IUniswapV3Pool,
        and an observation ring buffer written the way Uniswap/v3-core Oracle.sol
        does it: on each price change the pool first records the cumulative of the
        tick that held until now (tickCumulative += tick * elapsed), then moves.
        observe() interpolates between observations and reverts "OLD" before the
        oldest one. Liquidity is not modelled (secondsPerLiquidity is 0).
"""

struct Observation:
    blockTimestamp: uint32
    tickCumulative: int56
    initialized: bool

MAX_CARDINALITY: constant(uint256) = 64

token0: public(address)
token1: public(address)
_sqrt_price_x96: uint160
_tick: int24
_index: uint16
_cardinality: uint16
_observations: HashMap[uint256, Observation]


@deploy
def __init__(_token0: address, _token1: address, sqrtPriceX96: uint160, tick: int24, cardinality: uint16):
    assert convert(cardinality, uint256) <= MAX_CARDINALITY and cardinality > 0, "cardinality"
    self.token0 = _token0
    self.token1 = _token1
    self._sqrt_price_x96 = sqrtPriceX96
    self._tick = tick
    self._cardinality = cardinality
    self._observations[0] = Observation(
        blockTimestamp=convert(block.timestamp, uint32), tickCumulative=0, initialized=True
    )


@internal
@view
def _transform(last: Observation, t: uint32) -> Observation:
    elapsed: int56 = convert(convert(t - last.blockTimestamp, uint256), int56)
    return Observation(
        blockTimestamp=t,
        tickCumulative=last.tickCumulative + convert(self._tick, int56) * elapsed,
        initialized=True,
    )


@external
def swapTo(tick: int24, sqrtPriceX96: uint160):
    now: uint32 = convert(block.timestamp, uint32)
    last: Observation = self._observations[convert(self._index, uint256)]
    if last.blockTimestamp != now:
        new_index: uint16 = (self._index + 1) % self._cardinality
        self._observations[convert(new_index, uint256)] = self._transform(last, now)
        self._index = new_index
    self._tick = tick
    self._sqrt_price_x96 = sqrtPriceX96


@external
@view
def slot0() -> (uint160, int24, uint16, uint16, uint16, uint8, bool):
    return (self._sqrt_price_x96, self._tick, self._index, self._cardinality, self._cardinality, 0, True)


@internal
@view
def _observe_single(now: uint32, seconds_ago: uint32) -> int56:
    last: Observation = self._observations[convert(self._index, uint256)]
    target: uint32 = now - seconds_ago
    if target >= last.blockTimestamp:
        return self._transform(last, target).tickCumulative
    card: uint256 = convert(self._cardinality, uint256)
    oldest_index: uint256 = (convert(self._index, uint256) + 1) % card
    if not self._observations[oldest_index].initialized:
        oldest_index = 0
    assert self._observations[oldest_index].blockTimestamp <= target, "OLD"
    # Walk forward from the oldest observation to the pair that brackets target.
    before: Observation = self._observations[oldest_index]
    for k: uint256 in range(1, MAX_CARDINALITY):
        if k >= card:
            break
        after: Observation = self._observations[(oldest_index + k) % card]
        if not after.initialized:
            break
        if after.blockTimestamp == target:
            return after.tickCumulative
        if after.blockTimestamp > target:
            span: int56 = convert(convert(after.blockTimestamp - before.blockTimestamp, uint256), int56)
            into: int56 = convert(convert(target - before.blockTimestamp, uint256), int56)
            return before.tickCumulative + (after.tickCumulative - before.tickCumulative) // span * into
        before = after
    return before.tickCumulative


@external
@view
def observe(secondsAgos: DynArray[uint32, 16]) -> (DynArray[int56, 16], DynArray[uint160, 16]):
    now: uint32 = convert(block.timestamp, uint32)
    cumulatives: DynArray[int56, 16] = []
    per_liquidity: DynArray[uint160, 16] = []
    for seconds_ago: uint32 in secondsAgos:
        cumulatives.append(self._observe_single(now, seconds_ago))
        per_liquidity.append(0)
    return (cumulatives, per_liquidity)
