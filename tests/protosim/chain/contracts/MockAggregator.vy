# pragma version ~=0.4.3
"""
@title Chainlink-like aggregator for protosim's chain-reader tests
@notice Mirrors the read surface of AccessControlledOffchainAggregator:
        AggregatorV3Interface (decimals, description, version, latestRoundData,
        getRoundData) and the AnswerUpdated(int256 indexed, uint256 indexed, uint256)
        event. Answers are signed, so negative answers are stored and logged as is.
"""

event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256

event NewRound:
    roundId: indexed(uint256)
    startedBy: indexed(address)
    startedAt: uint256

decimals: public(uint8)
description: public(String[64])
version: public(uint256)
latestRound: public(uint256)

_answers: HashMap[uint256, int256]
_updated_at: HashMap[uint256, uint256]


@deploy
def __init__(_decimals: uint8, _description: String[64]):
    self.decimals = _decimals
    self.description = _description
    self.version = 4


@external
def submit(answer: int256):
    # NewRound is logged too, so a reader that does not filter on topic0 gets it wrong.
    round_id: uint256 = self.latestRound + 1
    self.latestRound = round_id
    self._answers[round_id] = answer
    self._updated_at[round_id] = block.timestamp
    log NewRound(roundId=round_id, startedBy=msg.sender, startedAt=block.timestamp)
    log AnswerUpdated(current=answer, roundId=round_id, updatedAt=block.timestamp)


@external
def submitMany(answers: DynArray[int256, 64]):
    for answer: int256 in answers:
        round_id: uint256 = self.latestRound + 1
        self.latestRound = round_id
        self._answers[round_id] = answer
        self._updated_at[round_id] = block.timestamp
        log AnswerUpdated(current=answer, roundId=round_id, updatedAt=block.timestamp)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    round_id: uint256 = self.latestRound
    assert round_id > 0, "No data present"
    return (
        convert(round_id, uint80),
        self._answers[round_id],
        self._updated_at[round_id],
        self._updated_at[round_id],
        convert(round_id, uint80),
    )


@external
@view
def getRoundData(_roundId: uint80) -> (uint80, int256, uint256, uint256, uint80):
    round_id: uint256 = convert(_roundId, uint256)
    assert self._updated_at[round_id] > 0, "No data present"
    return (
        _roundId,
        self._answers[round_id],
        self._updated_at[round_id],
        self._updated_at[round_id],
        _roundId,
    )
