"""The error a chain read raises when the node, the call or its answer is wrong."""

from __future__ import annotations

from typing import Literal

from protosim.errors import ProtosimError

FailureKind = Literal["transport", "rpc", "reverted", "malformed"]


class ChainReadError(ProtosimError):
    """A JSON-RPC read failed, was reverted, or returned something that cannot be decoded.

    The message names the call, the contract address and what was wrong, e.g.
    ``eth_call latestRoundData() on 0x5f4e…8419 at block 19000000: reverted: No data present``.

    Parameters
    ----------
    call : str
        The JSON-RPC call as a person would name it (``eth_call latestRoundData()``,
        ``eth_getLogs AnswerUpdated blocks 100-199``).
    detail : str
        What was wrong, and what was expected where that helps.
    address : str, optional
        The contract the call was made to.
    kind : {"transport", "rpc", "reverted", "malformed"}
        ``transport``: the node could not be reached or kept failing (after retries);
        ``rpc``: the node answered with a JSON-RPC error; ``reverted``: the contract
        reverted; ``malformed``: the answer could not be decoded.
    rpc_code : int, optional
        The JSON-RPC error code, when the node sent one.
    rpc_message : str, optional
        The JSON-RPC error message, when the node sent one.
    """

    def __init__(
        self,
        call: str,
        detail: str,
        *,
        address: str | None = None,
        kind: FailureKind = "malformed",
        rpc_code: int | None = None,
        rpc_message: str | None = None,
    ) -> None:
        self.call = call
        self.address = address
        self.detail = detail
        self.kind: FailureKind = kind
        self.rpc_code = rpc_code
        self.rpc_message = rpc_message
        where = f"{call} on {address}" if address else call
        super().__init__(f"{where}: {detail}")
