"""Tests of protosim.rng: named random streams derived from one seed (DESIGN "Randomness", R2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.rng import RngStreams

NAMES = st.text(min_size=1, max_size=30)
SEEDS = st.integers(min_value=0, max_value=2**63 - 1)


@settings(max_examples=50, deadline=None)
@given(seed=SEEDS, name=NAMES)
def test_stream_same_seed_and_name_gives_same_draws(seed: int, name: str) -> None:
    """Two RngStreams built from the same seed give the same draws for the same name."""
    a = RngStreams(seed).stream(name).random(16)
    b = RngStreams(seed).stream(name).random(16)
    assert np.array_equal(a, b)


@settings(max_examples=50, deadline=None)
@given(seed=SEEDS, names=st.lists(NAMES, min_size=2, max_size=2, unique=True))
def test_stream_different_names_give_different_draws(seed: int, names: list[str]) -> None:
    """Streams with different names under one seed never repeat each other's draws."""
    rng = RngStreams(seed)
    a = rng.stream(names[0]).integers(0, 2**62, size=4)
    b = rng.stream(names[1]).integers(0, 2**62, size=4)
    # Four 62-bit draws coinciding by chance has probability 2**-248.
    assert not np.array_equal(a, b)


def test_stream_different_names_are_uncorrelated() -> None:
    """Draws of two named streams are statistically independent (sample correlation ~ 0)."""
    n = 20_000
    rng = RngStreams(7)
    a = rng.stream("oracle.chainlink.ETH").standard_normal(n)
    b = rng.stream("keeper.1").standard_normal(n)
    r = float(np.corrcoef(a, b)[0, 1])
    # Under independence r is ~ N(0, 1/n); 5 standard errors is a false alarm rate of ~6e-7.
    assert abs(r) < 5.0 / np.sqrt(n)


@pytest.mark.parametrize("seed", [0, 1, 2**40])
def test_stream_different_seeds_give_different_draws(seed: int) -> None:
    """The same name under two different seeds gives different draws."""
    a = RngStreams(seed).stream("paths.ETH").integers(0, 2**62, size=4)
    b = RngStreams(seed + 1).stream("paths.ETH").integers(0, 2**62, size=4)
    assert not np.array_equal(a, b)


@settings(max_examples=30, deadline=None)
@given(
    seed=SEEDS,
    names=st.lists(NAMES, min_size=2, max_size=6, unique=True),
    draws=st.integers(min_value=1, max_value=20),
)
def test_stream_new_streams_created_or_drawn_leave_existing_draws_unchanged(
    seed: int, names: list[str], draws: int
) -> None:
    """Creating and drawing from other streams (before or between) never shifts a stream's draws."""
    target, others = names[0], names[1:]
    alone = RngStreams(seed).stream(target).random(2 * draws)

    crowded = RngStreams(seed)
    for other in others:  # components created before the target
        crowded.stream(other).random(draws)
    first = crowded.stream(target).random(draws)
    for other in others:  # and drawing between the target's own draws
        crowded.stream(other).standard_normal(3)
    second = crowded.stream(target).random(draws)

    assert np.array_equal(np.concatenate([first, second]), alone)


def test_stream_same_name_twice_continues_one_generator() -> None:
    """Asking for a name again returns the same generator, so draws continue rather than restart."""
    rng = RngStreams(3)
    head = rng.stream("a").random(3)
    tail = rng.stream("a").random(3)
    assert np.array_equal(np.concatenate([head, tail]), RngStreams(3).stream("a").random(6))


@pytest.mark.parametrize("seed", [-1, -(2**40)])
def test_rngstreams_negative_seed_raises_value_error(seed: int) -> None:
    """A negative seed is rejected with a message naming the value."""
    with pytest.raises(ValueError, match=str(seed)):
        RngStreams(seed)
