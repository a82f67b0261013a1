"""``protosim chain``: read feeds, lending positions and TWAPs from a node into files.

Attach to the main CLI with ``main.add_command(chain)``. The readers (and web3) are
imported when a command runs, so loading the CLI stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from protosim.errors import ProtosimError

if TYPE_CHECKING:
    from protosim.chain.rpc import RpcClient

__all__ = ["chain"]


class _ChainGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        # One line on stderr and exit 2, never a traceback: the message already names
        # the call, the contract and what was wrong.
        try:
            return super().invoke(ctx)
        except ProtosimError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


class _Address(click.ParamType[str, Any]):
    name = "ADDRESS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from protosim.chain.rpc import to_address

        try:
            return to_address(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


ADDRESS = _Address()


def _rpc_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--rpc",
            "rpc_url",
            required=True,
            envvar="PROTOSIM_RPC_URL",
            metavar="URL",
            help="HTTP(S) JSON-RPC endpoint (or set PROTOSIM_RPC_URL).",
        ),
        click.option(
            "--timeout",
            "timeout_s",
            type=click.FloatRange(min=0, min_open=True),
            default=30.0,
            show_default=True,
            help="Seconds to wait for one response.",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(min=0),
            default=5,
            show_default=True,
            help="Retries of a timed-out, dropped or rate-limited request.",
        ),
        click.option(
            "--base-delay",
            "base_delay_s",
            type=click.FloatRange(min=0),
            default=0.5,
            show_default=True,
            help="First back-off in seconds; doubles per retry.",
        ),
        click.option(
            "--max-delay",
            "max_delay_s",
            type=click.FloatRange(min=0),
            default=30.0,
            show_default=True,
            help="Longest back-off in seconds.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _client(
    rpc_url: str, timeout_s: float, max_retries: int, base_delay_s: float, max_delay_s: float
) -> RpcClient:
    from protosim.chain.rpc import RetryPolicy, RpcClient

    retry = RetryPolicy(
        max_retries=max_retries,
        base_delay_s=base_delay_s,
        max_delay_s=max(max_delay_s, base_delay_s),
    )
    return RpcClient.from_url(rpc_url, timeout_s=timeout_s, retry=retry)


def _out_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--out",
        "out",
        required=True,
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="File to write (replaced atomically; never left half-written).",
    )(command)


@click.group(cls=_ChainGroup)
def chain() -> None:
    """Read on-chain state (oracle rounds, lending positions, TWAPs) into files."""


@chain.command()
@_rpc_options
@click.option("--address", required=True, type=ADDRESS, help="Feed proxy or aggregator address.")
@click.option("--from-block", type=click.IntRange(min=0), required=True, help="First block.")
@click.option(
    "--to-block", type=click.IntRange(min=0), default=None, help="Last block (default: the latest)."
)
@_out_option
@click.option(
    "--chunk",
    "chunk_size",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Most blocks per eth_getLogs request.",
)
def feed(
    rpc_url: str,
    timeout_s: float,
    max_retries: int,
    base_delay_s: float,
    max_delay_s: float,
    address: str,
    from_block: int,
    to_block: int | None,
    out: Path,
    chunk_size: int,
) -> None:
    """Write a Chainlink feed's AnswerUpdated rounds to an oracle-rounds CSV."""
    from protosim.chain.chainlink import read_feed_rounds, write_rounds_csv

    if to_block is not None and to_block < from_block:
        raise click.BadParameter(
            f"expected >= --from-block ({from_block}), was {to_block}", param_hint="--to-block"
        )
    _check_out_dir(out)
    client = _client(rpc_url, timeout_s, max_retries, base_delay_s, max_delay_s)
    console = Console(stderr=True)
    # A bar only on a terminal: piped or captured stderr keeps just the error line.
    with Progress(
        TextColumn("eth_getLogs"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} blocks"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("logs", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        rounds = read_feed_rounds(
            client, address, from_block, to_block, chunk_size=chunk_size, on_chunk=advance
        )
    write_rounds_csv(out, rounds)
    via = "" if rounds.aggregator == rounds.feed else f" (aggregator {rounds.aggregator})"
    click.echo(
        f"{len(rounds.updates)} rounds of {rounds.description or rounds.feed}{via}, "
        f"blocks {rounds.from_block}-{rounds.to_block} -> {out}"
    )


@chain.command()
@_rpc_options
@click.option("--pool", required=True, type=ADDRESS, help="Aave v3 Pool (proxy) address.")
@click.option("--user", "users", multiple=True, type=ADDRESS, help="Account to read (repeatable).")
@click.option(
    "--block",
    type=click.IntRange(min=0),
    default=None,
    help="Block to read at (default: the latest).",
)
@_out_option
def aave(
    rpc_url: str,
    timeout_s: float,
    max_retries: int,
    base_delay_s: float,
    max_delay_s: float,
    pool: str,
    users: tuple[str, ...],
    block: int | None,
    out: Path,
) -> None:
    """Write an Aave v3 pool's reserves and users' positions to a JSON snapshot."""
    from protosim.chain.aave import read_pool_snapshot, write_snapshot_json

    _check_out_dir(out)
    client = _client(rpc_url, timeout_s, max_retries, base_delay_s, max_delay_s)
    snapshot = read_pool_snapshot(client, pool, users, block=block)
    write_snapshot_json(out, snapshot)
    click.echo(
        f"{len(snapshot.reserves)} reserves, {len(snapshot.users)} users at block "
        f"{snapshot.block_number} -> {out}"
    )


@chain.command()
@_rpc_options
@click.option("--pool", required=True, type=ADDRESS, help="Uniswap v3 pool address.")
@click.option(
    "--window",
    "window_s",
    type=click.IntRange(min=1, max=2**32 - 1),
    default=1800,
    show_default=True,
    help="TWAP window in seconds.",
)
@click.option(
    "--block",
    type=click.IntRange(min=0),
    default=None,
    help="Block that ends the window (default: the latest).",
)
@_out_option
def univ3(
    rpc_url: str,
    timeout_s: float,
    max_retries: int,
    base_delay_s: float,
    max_delay_s: float,
    pool: str,
    window_s: int,
    block: int | None,
    out: Path,
) -> None:
    """Write a Uniswap v3 pool's slot0 and TWAP over a window to JSON."""
    from protosim.chain.univ3 import read_twap, write_twap_json

    _check_out_dir(out)
    client = _client(rpc_url, timeout_s, max_retries, base_delay_s, max_delay_s)
    reading = read_twap(client, pool, window_s, block=block)
    write_twap_json(out, reading)
    click.echo(
        f"mean tick {reading.mean_tick} over {window_s} s at block {reading.block_number} "
        f"(TWAP {reading.twap_price:.6g} token1/token0 raw) -> {out}"
    )


def _check_out_dir(out: Path) -> None:
    # Fail before any RPC traffic rather than after a long read.
    if not out.parent.is_dir():
        raise click.BadParameter(f"directory {out.parent} does not exist", param_hint="--out")
