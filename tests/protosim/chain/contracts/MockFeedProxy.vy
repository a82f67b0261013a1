# pragma version ~=0.4.3
"""
@title Chainlink-like EACAggregatorProxy for protosim's chain-reader tests
@notice A proxy emits no AnswerUpdated events; readers must follow aggregator().
        Round ids seen through a proxy carry the phase in their top bits:
        (phaseId << 64) | aggregatorRoundId.
"""

interface Aggregator:
    def decimals() -> uint8: view
    def description() -> String[64]: view
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view

aggregator: public(address)
phaseId: public(uint16)


@deploy
def __init__(_aggregator: address, _phase_id: uint16):
    self.aggregator = _aggregator
    self.phaseId = _phase_id


@external
@view
def decimals() -> uint8:
    return staticcall Aggregator(self.aggregator).decimals()


@external
@view
def description() -> String[64]:
    return staticcall Aggregator(self.aggregator).description()


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    round_id: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    round_id, answer, started_at, updated_at, answered_in = staticcall Aggregator(self.aggregator).latestRoundData()
    phase: uint256 = convert(self.phaseId, uint256) << 64
    return (
        convert(phase | convert(round_id, uint256), uint80),
        answer,
        started_at,
        updated_at,
        convert(phase | convert(answered_in, uint256), uint80),
    )
