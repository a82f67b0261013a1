"""Errors a user can meet, each naming where the problem is and what was expected."""

from __future__ import annotations

from pathlib import Path


class ProtosimError(Exception):
    """Base class of every error protosim raises on purpose."""


class ScenarioError(ProtosimError):
    """A scenario, fixture or parameter set is invalid.

    Parameters
    ----------
    message : str
        What was wrong and what was expected ("expected a number > 0, was -3").
    file : str or Path, optional
        The file the value came from.
    key_path : str, optional
        Dotted path of the key inside the file (``venues[0].params.reserves.ETH``).
    """

    def __init__(
        self, message: str, *, file: str | Path | None = None, key_path: str | None = None
    ) -> None:
        self.file = str(file) if file is not None else None
        self.key_path = key_path
        self.detail = message
        where = ", ".join(
            part for part in (self.file, f"key {key_path}" if key_path else None) if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class DataFileError(ProtosimError):
    """A data file (price CSV, oracle rounds, positions) is malformed.

    Parameters
    ----------
    file : str or Path
        The file that failed to load.
    message : str
        What was wrong and what was expected.
    line : int, optional
        1-based line number in the file (the header is line 1).
    field : str, optional
        Column or field name.
    """

    def __init__(
        self,
        file: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.detail = message
        where = self.file
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", column {field}"
        super().__init__(f"{where}: {message}")


class SimulationError(ProtosimError):
    """The simulation reached a state its rules do not allow (a bug or an impossible input)."""


class KeyedValueError(ValueError):
    """A validation failure inside a parameter model that knows which nested key is wrong.

    Raise it from a pydantic validator so the scenario error names the full key path
    (``venues[0].params.reserves.ETH.liquidation_protocol_fee_bps``) instead of the model.
    """

    def __init__(self, key_path: str, message: str) -> None:
        super().__init__(message)
        self.key_path = key_path
