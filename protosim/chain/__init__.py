"""Chain I/O: read oracle rounds, lending positions and pool TWAPs from an EVM node.

This is the only part of protosim that talks to a blockchain (and the only one that
imports ``web3`` or ``eth_abi``). Every reader pins its ``eth_call``s to one block,
decodes with the contract's real ABI, and writes its output atomically, so a scenario
can replay exactly what the chain held:

- :mod:`protosim.chain.rpc`: JSON-RPC client with retries and back-off;
- :mod:`protosim.chain.chainlink`: Chainlink feed rounds to an oracle-rounds CSV;
- :mod:`protosim.chain.aave`: Aave v3 reserves and user positions to a JSON snapshot;
- :mod:`protosim.chain.univ3`: Uniswap v3 ``slot0`` and ``observe`` to a TWAP JSON;
- :mod:`protosim.chain.cli`: the ``protosim chain`` commands.

Submodules are imported on use: ``import protosim.chain`` itself does not load web3.
"""

from __future__ import annotations

from protosim.chain.errors import ChainReadError

__all__ = ["ChainReadError"]
