"""The run's append-only, columnar event log.

Events are stored per kind as typed columns, not as one Python object per event: a keeper
transaction that liquidates a hundred thousand positions appends one batch. Inside a batch, a
field with one value for every event (the time, the block, the venue, the liquidator, the
first-event ``seq``) is stored once and broadcast when read; string fields are int32 codes into
the table's list of distinct strings. `of_type` and `get` build the frozen dataclasses on
demand; `frame` gives a pandas DataFrame.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from protosim.events import ROOT, Event

if TYPE_CHECKING:
    import pandas as pd

E = TypeVar("E", bound=Event)

_BASE_FIELDS = ("seq", "t", "block", "cause", "cause_span")
_NARROW = frozenset({"block", "cause_span"})  # fit in int32 for any run; halves their memory
_DTYPES: dict[Any, Any] = {
    int: np.int64,
    "int": np.int64,
    float: np.float64,
    "float": np.float64,
    str: object,
    "str": object,
    bool: np.bool_,
    "bool": np.bool_,
}


@dataclasses.dataclass(slots=True)
class _Chunk:
    """A run of consecutive events of one kind. A 0-d column holds one value for all of them;
    a 0-d ``seq`` is the first of consecutive numbers.
    """

    size: int
    columns: dict[str, NDArray[Any]]

    def expand(self, name: str) -> NDArray[Any]:
        value = self.columns[name]
        if value.ndim:
            return value
        if name == "seq":
            return np.arange(int(value), int(value) + self.size, dtype=np.int64)
        return np.full(self.size, value, dtype=value.dtype)

    def at(self, name: str, i: int) -> Any:
        value = self.columns[name]
        if value.ndim:
            return value[i]
        return int(value) + i if name == "seq" else value[()]

    def find(self, seq: int) -> int | None:
        seqs = self.columns["seq"]
        if not seqs.ndim:
            i = seq - int(seqs)
            return i if 0 <= i < self.size else None
        i = int(np.searchsorted(seqs, seq))
        return i if i < self.size and seqs[i] == seq else None


class _Table:
    """Columns of one event kind: a row buffer for single appends plus chunks."""

    __slots__ = (
        "chunks",
        "codes",
        "dtypes",
        "fields",
        "kind",
        "payload",
        "payload_codes",
        "payload_set",
        "payload_storage",
        "rows",
        "scalar_codes",
        "storage",
        "strings",
    )

    def __init__(self, kind: type[Event]) -> None:
        self.kind = kind
        self.fields = tuple(f.name for f in dataclasses.fields(kind))
        self.payload = tuple(name for name in self.fields if name not in _BASE_FIELDS)
        self.payload_set = frozenset(self.payload)
        self.dtypes = {f.name: _DTYPES[f.type] for f in dataclasses.fields(kind)}
        self.strings: dict[str, list[str]] = {
            n: [] for n, dt in self.dtypes.items() if dt is object
        }
        self.codes: dict[str, dict[str, int]] = {name: {} for name in self.strings}
        self.scalar_codes: dict[tuple[str, str], NDArray[Any]] = {}
        """Per string field and value: its code as the 0-d column a batch stores."""
        # Each payload field with its string-code table (None for a number): what `emit`
        # walks for every single event.
        self.payload_codes = tuple((name, self.codes.get(name)) for name in self.payload)
        # Looked up for every column of every batch: computed once per kind.
        self.storage: dict[str, Any] = {
            name: np.int32 if name in self.strings or name in _NARROW else self.dtypes[name]
            for name in self.fields
        }
        self.payload_storage = tuple(
            (name, self.codes.get(name), self.storage[name], np.dtype(self.storage[name]))
            for name in self.payload
        )
        """What `EventLog.emit_batch` walks: each payload field, its string codes, its dtype
        (as given and as the `np.dtype` an array of it has)."""
        self.rows: list[tuple[Any, ...]] = []
        self.chunks: list[_Chunk] = []

    def code(self, name: str, value: str) -> int:
        table = self.codes[name]
        found = table.get(value)
        if found is None:
            if not isinstance(value, str):
                raise TypeError(f"{self.kind.__name__}.{name}: expected str, was {value!r}")
            found = table[value] = len(table)
            self.strings[name].append(value)
        return found

    def storage_dtype(self, name: str) -> Any:
        return self.storage[name]

    def flush(self) -> None:
        if not self.rows:
            return
        columns = list(zip(*self.rows, strict=True))
        self.chunks.append(
            _Chunk(
                len(self.rows),
                {
                    name: np.asarray(col, dtype=self.storage_dtype(name))
                    for name, col in zip(self.fields, columns, strict=True)
                },
            )
        )
        self.rows = []

    def raw(self, name: str) -> NDArray[Any]:
        """Return the stored column (codes for strings) as one array; only this column is
        joined, so reading a big log never copies all of it at once.
        """
        self.flush()
        if not self.chunks:
            return np.empty(0, dtype=self.storage_dtype(name))
        if len(self.chunks) == 1:
            return self.chunks[0].expand(name)
        return np.concatenate([c.expand(name) for c in self.chunks])

    def column(self, name: str) -> NDArray[Any]:
        raw = self.raw(name)
        if name in self.strings:
            if not len(raw):
                return np.empty(0, dtype=object)
            out: NDArray[Any] = np.asarray(self.strings[name], dtype=object)[raw]
            return out
        return raw

    def row(self, chunk: _Chunk, i: int) -> dict[str, Any]:
        out = {}
        for name in self.fields:
            value = _py(chunk.at(name, i))
            out[name] = self.strings[name][value] if name in self.strings else value
        return out

    def __len__(self) -> int:
        return len(self.rows) + sum(c.size for c in self.chunks)


class EventLog:
    """Append-only, sequenced log of a run's events.

    Parameters
    ----------
    now : callable
        Returns the current simulated time; stamped on every event.
    block : callable
        Returns the current block number; stamped on every event.

    Examples
    --------
    >>> from protosim.events import ShockApplied, OracleStateChanged
    >>> log = EventLog(now=lambda: 5.0, block=lambda: 1)
    >>> root = log.emit(
    ...     ShockApplied, shock="oracle_outage", target="eth-usd", size=0.0, duration_s=60.0
    ... )
    >>> child = log.emit(OracleStateChanged, cause=root, oracle="eth-usd", state="outage")
    >>> [e.seq for e in log.cause_chain(child)]
    [1, 0]
    """

    def __init__(self, now: Callable[[], float], block: Callable[[], int]) -> None:
        self._now = now
        self._block = block
        self._next_seq = 0
        self._tables: dict[type[Event], _Table] = {}

    def _table(self, kind: type[Event]) -> _Table:
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = _Table(kind)
        return table

    @staticmethod
    def _check_fields(kind: type[Event], table: _Table, given: Any) -> None:
        if given != table.payload_set:
            missing = set(table.payload) - set(given)
            extra = set(given) - set(table.payload)
            raise TypeError(f"{kind.__name__}: missing fields {missing}, unknown fields {extra}")

    def emit(
        self, kind: type[Event], *, cause: int = ROOT, cause_span: int = 1, **payload: Any
    ) -> int:
        """Append one event of `kind` and return its ``seq``.

        Parameters
        ----------
        kind : type
            The event class.
        cause : int
            ``seq`` of the causing event, or ``ROOT``.
        cause_span : int
            Number of consecutive causing events starting at `cause`.
        **payload
            The event's own fields, all of them.
        """
        # The lookups inline: a run emits tens of thousands of single events. (Not `or`: a
        # table's truth is its length, a sum over its chunks.)
        table = self._tables.get(kind)
        if table is None:
            table = self._table(kind)
        if payload.keys() != table.payload_set:
            self._check_fields(kind, table, payload.keys())
        if cause != ROOT and not (
            cause >= 0 and cause_span >= 1 and cause + cause_span <= self._next_seq
        ):
            self._check_causes(kind, np.asarray(cause), np.asarray(cause_span))
        seq = self._next_seq
        row = [seq, self._now(), self._block(), cause, 0 if cause == ROOT else cause_span]
        for name, codes in table.payload_codes:
            value = payload[name]
            if codes is not None:
                # A string seen before is one dict lookup; `code` adds (and checks) a new one.
                code = codes.get(value)
                value = table.code(name, value) if code is None else code
            row.append(value)
        self._next_seq = seq + 1
        table.rows.append(tuple(row))
        return seq

    def _check_causes(
        self, kind: type[Event], cause: NDArray[np.int64], span: NDArray[np.int64]
    ) -> None:
        named = cause != ROOT
        if np.any(cause < ROOT):
            raise ValueError(f"{kind.__name__}: a cause must be an event seq or ROOT (-1)")
        if np.any(named & (span < 1)):
            raise ValueError(f"{kind.__name__}: cause_span must be >= 1 when a cause is named")
        if np.any(named & (cause + span > self._next_seq)):
            raise ValueError(f"{kind.__name__}: a cause has not happened yet")

    def _check_batch_causes(
        self, kind: type[Event], causes: NDArray[np.int64], spans: NDArray[np.int64]
    ) -> None:
        # The full check only when the quick one (every cause a past event) fails.
        if spans.ndim:
            self._check_causes(kind, causes, spans)
        elif causes.ndim:
            n = int(spans)
            if not (n >= 1 and int(causes.min()) >= 0 and int(causes.max()) + n <= self._next_seq):
                self._check_causes(kind, causes, spans)
        else:
            c, n = int(causes), int(spans)
            if c != ROOT and not (c >= 0 and n >= 1 and c + n <= self._next_seq):
                self._check_causes(kind, causes, spans)

    def _batch_cause(
        self,
        kind: type[Event],
        table: _Table,
        cause: int | NDArray[np.int64],
        cause_span: int | NDArray[np.int64],
        shape: tuple[int],
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """Return a batch's checked ``cause`` and ``cause_span`` columns."""
        storage = table.storage
        if type(cause) is int and type(cause_span) is int:
            # One cause for the whole batch (the usual): the checks and 0-d columns below, on
            # the ints themselves.
            if cause != ROOT and not (
                cause >= 0 and cause_span >= 1 and cause + cause_span <= self._next_seq
            ):
                self._check_causes(kind, np.asarray(cause), np.asarray(cause_span))
            return (
                np.asarray(cause, dtype=storage["cause"]),
                np.asarray(0 if cause == ROOT else cause_span, dtype=storage["cause_span"]),
            )
        causes = _as_column(kind, "cause", cause, storage["cause"], shape)
        spans = _as_column(kind, "cause_span", cause_span, storage["cause_span"], shape)
        self._check_batch_causes(kind, causes, spans)
        if causes.ndim or spans.ndim:
            spans = np.where(causes == ROOT, 0, spans).astype(np.int32)
        elif int(causes) == ROOT:
            spans = np.asarray(0, dtype=np.int32)
        return causes, spans

    def emit_batch(
        self,
        kind: type[Event],
        count: int,
        /,
        *,
        cause: int | NDArray[np.int64] = ROOT,
        cause_span: int | NDArray[np.int64] = 1,
        **columns: Any,
    ) -> int:
        """Append `count` events of `kind` at once and return the ``seq`` of the first.

        The events get consecutive sequence numbers. Each column is an array of length `count`
        or a scalar shared by every event (stored once).
        """
        if count <= 0:
            return self._next_seq
        table = self._tables.get(kind)
        if table is None:
            table = self._table(kind)
        if columns.keys() != table.payload_set:
            self._check_fields(kind, table, columns.keys())
        table.flush()
        first = self._next_seq
        shape = (count,)
        causes, spans = self._batch_cause(kind, table, cause, cause_span, shape)
        chunk: dict[str, NDArray[Any]] = {
            "seq": np.asarray(first, dtype=np.int64),
            "t": np.asarray(self._now(), dtype=np.float64),
            "block": np.asarray(self._block(), dtype=np.int32),
            "cause": causes,
            "cause_span": spans,
        }
        for name, codes, dtype, exact in table.payload_storage:
            value = columns[name]
            if codes is None:  # a number column (most are)
                if type(value) is np.ndarray and value.dtype is exact and value.shape == shape:
                    # What `np.asarray` would hand back: the array itself, its length checked.
                    chunk[name] = value
                else:
                    chunk[name] = _as_column(kind, name, value, dtype, shape)
            elif isinstance(value, str):
                # One shared read-only 0-d array per string seen (a batch's venue, assets and
                # liquidator recur in every batch), not a new one per batch.
                column = table.scalar_codes.get((name, value))
                if column is None:
                    column = np.asarray(table.code(name, value), dtype=dtype)
                    column.setflags(write=False)
                    table.scalar_codes[name, value] = column
                chunk[name] = column
            else:
                distinct, inverse = np.unique(np.asarray(value, dtype=object), return_inverse=True)
                coded = np.array([table.code(name, v) for v in distinct], dtype=dtype)
                chunk[name] = _as_column(kind, name, coded[inverse], dtype, shape)
        table.chunks.append(_Chunk(count, chunk))
        self._next_seq += count
        return first

    def __len__(self) -> int:
        return self._next_seq

    @property
    def kinds(self) -> tuple[type[Event], ...]:
        """Event kinds that occur in the log, in order of first appearance."""
        return tuple(kind for kind, table in self._tables.items() if len(table))

    def count(self, kind: type[Event]) -> int:
        """Return how many events of `kind` were logged."""
        table = self._tables.get(kind)
        return len(table) if table is not None else 0

    def column(self, kind: type[Event], name: str) -> NDArray[Any]:
        """Return one field of every event of `kind`, in log order."""
        table = self._tables.get(kind) or _Table(kind)
        if name not in table.fields:
            raise KeyError(f"{kind.__name__} has no field {name!r}")
        return table.column(name)

    def columns(self, kind: type[Event]) -> dict[str, NDArray[Any]]:
        """Return every field of `kind` as arrays keyed by field name."""
        fields = _Table(kind).fields
        return {name: self.column(kind, name) for name in fields}

    def codes(self, kind: type[Event], name: str) -> tuple[NDArray[np.int32], list[str]]:
        """Return string field `name` of `kind` as int32 codes and the strings they index."""
        table = self._tables.get(kind)
        if table is None:
            return np.empty(0, dtype=np.int32), []
        return table.raw(name), list(table.strings[name])

    def total(self, kind: type[Event], name: str) -> float:
        """Return the sum of numeric field `name` over every event of `kind`."""
        table = self._tables.get(kind)
        if table is None:
            return 0.0
        table.flush()
        total = 0.0
        for chunk in table.chunks:
            value = chunk.columns[name]
            if value.ndim:
                total += float(value.sum())
            elif name == "seq":
                # A 0-d seq is the first of consecutive numbers: first·n + n(n−1)/2.
                total += float(value) * chunk.size + chunk.size * (chunk.size - 1) / 2
            else:
                total += float(value) * chunk.size
        return total

    def frame(self, kind: type[Event]) -> pd.DataFrame:
        """Return the events of `kind` as a pandas DataFrame, one row per event (string fields
        as categoricals).
        """
        import pandas as pd

        table = self._tables.get(kind) or _Table(kind)
        data: dict[str, Any] = {}
        for name in table.fields:
            if name in table.strings:
                codes = np.asarray(table.raw(name), dtype=np.int32)
                categories = pd.Index(table.strings[name])
                data[name] = pd.Categorical.from_codes(codes, categories=categories)
            else:
                data[name] = table.raw(name)
        return pd.DataFrame(data)

    def of_type(self, kind: type[E]) -> list[E]:
        """Return the events of `kind` as frozen dataclasses (builds objects: use on small sets)."""
        table = self._tables.get(kind)
        if table is None:
            return []
        table.flush()
        return [kind(**table.row(chunk, i)) for chunk in table.chunks for i in range(chunk.size)]

    def get(self, seq: int) -> Event:
        """Return the event numbered `seq`."""
        for kind, table in self._tables.items():
            table.flush()
            for chunk in table.chunks:
                i = chunk.find(seq)
                if i is not None:
                    return kind(**table.row(chunk, i))
        raise KeyError(f"no event with seq {seq} (the log has {self._next_seq})")

    def cause_chain(self, seq: int) -> list[Event]:
        """Return the event `seq` and its first-named causes back to a root, newest first."""
        chain = [self.get(seq)]
        while chain[-1].cause != ROOT:
            chain.append(self.get(chain[-1].cause))
        return chain

    def root_of(self, seq: int) -> Event:
        """Return the root at the end of the first-named cause chain of event `seq`."""
        return self.cause_chain(seq)[-1]

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Yield every event as a plain dict with a ``kind`` key, in ``seq`` order."""
        located: list[tuple[int, _Table, _Chunk, int]] = []
        for table in self._tables.values():
            table.flush()
            for chunk in table.chunks:
                first = chunk.expand("seq")
                located.extend((int(s), table, chunk, i) for i, s in enumerate(first))
        located.sort(key=lambda item: item[0])
        for _, table, chunk, i in located:
            row: dict[str, Any] = {"kind": table.kind.__name__}
            row.update(table.row(chunk, i))
            yield row

    def to_jsonl(self, path: str | Path) -> Path:
        """Write every event as one JSON object per line, in ``seq`` order, with sorted keys.

        The same scenario and seed give a byte-identical file. The file is written to a
        temporary name and renamed, so a reader never sees half of it.
        """
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for row in self.iter_rows():
                fh.write(json.dumps(row, sort_keys=True, allow_nan=True))
                fh.write("\n")
        tmp.replace(path)
        return path

    def summary(self) -> Mapping[str, int]:
        """Return the number of events of each kind, by kind name."""
        return {kind.__name__: len(table) for kind, table in self._tables.items() if len(table)}


def _as_column(
    kind: type[Event], name: str, value: Any, dtype: Any, shape: tuple[int]
) -> NDArray[Any]:
    # One value for every event (0-d) or one per event.
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim and arr.shape != shape:
        raise ValueError(f"{kind.__name__}.{name}: expected {shape[0]} values, was {arr.shape}")
    return arr


def _py(value: Any) -> Any:
    # numpy scalars -> Python scalars, so dataclasses and JSON hold plain values.
    return value.item() if isinstance(value, np.generic) else value
