"""Maker (dss) liquidations: exact integer reference math and auction state machines.

:mod:`.math` mirrors the arithmetic of the Vat, Spotter, Cat, Dog, Clipper and Abacus contracts
of makerdao/dss; :mod:`.auctions` holds the Flipper and Clipper auctions and a minimal Vow as
frozen states with pure transitions.
"""

from __future__ import annotations

from protosim.protocols.lending.maker.auctions import (
    Abacus,
    Asset,
    Clipper,
    ExponentialDecrease,
    FlipBid,
    Flipper,
    FlipPhase,
    LinearDecrease,
    Sale,
    StairstepExponentialDecrease,
    Step,
    Transfer,
    Vow,
)
from protosim.protocols.lending.maker.math import (
    BarkAmounts,
    BiteAmounts,
    CatReverted,
    ClipperReverted,
    DogReverted,
    DssReverted,
    FlipperReverted,
    TakeAmounts,
    VowReverted,
    bark_amounts,
    bite_amounts,
    bite_amounts_lump,
    exponential_decrease,
    linear_decrease,
    needs_redo,
    stairstep_exponential_decrease,
    take_amounts,
)

__all__ = [
    "Abacus",
    "Asset",
    "BarkAmounts",
    "BiteAmounts",
    "CatReverted",
    "Clipper",
    "ClipperReverted",
    "DogReverted",
    "DssReverted",
    "ExponentialDecrease",
    "FlipBid",
    "FlipPhase",
    "Flipper",
    "FlipperReverted",
    "LinearDecrease",
    "Sale",
    "StairstepExponentialDecrease",
    "Step",
    "TakeAmounts",
    "Transfer",
    "Vow",
    "VowReverted",
    "bark_amounts",
    "bite_amounts",
    "bite_amounts_lump",
    "exponential_decrease",
    "linear_decrease",
    "needs_redo",
    "stairstep_exponential_decrease",
    "take_amounts",
]
