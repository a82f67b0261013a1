"""What governance may change in a running lending venue (``parameter_change`` shocks): the
checks every venue's ``check_parameters`` makes, each venue naming the fields its admin or
its spells set.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["refuse_fixed", "refuse_fixed_entries", "refuse_new_keys"]


def refuse_fixed(
    old: BaseModel,
    new: BaseModel,
    changeable: Collection[str],
    *,
    at: str = "",
    running: str = "market",
    hint: str = "",
) -> None:
    """Raise KeyError if `new` changes a field of `old` that is not in `changeable`; its
    message starts with the key path (`at` + the field): ``"<path>: cannot change in a
    running <running><hint>"``.

    >>> from pydantic import BaseModel
    >>> class Ilk(BaseModel):
    ...     mat: float
    ...     oracle: str
    >>> refuse_fixed(Ilk(mat=1.5, oracle="osm"), Ilk(mat=2.0, oracle="osm"), {"mat"})
    >>> try:
    ...     refuse_fixed(Ilk(mat=1.5, oracle="osm"), Ilk(mat=1.5, oracle="x"), {"mat"},
    ...                  at="ilks.ETH-A.", running="system")
    ... except KeyError as exc:
    ...     print(exc.args[0])
    ilks.ETH-A.oracle: cannot change in a running system
    """
    for name in type(old).model_fields:
        if name not in changeable and getattr(old, name) != getattr(new, name):
            raise KeyError(f"{at}{name}: cannot change in a running {running}{hint}")


def refuse_new_keys(
    old: Mapping[Any, Any], new: Mapping[Any, Any], key: str, what: str, running: str = "market"
) -> None:
    """Raise KeyError if `new` has other keys than `old`: ``"<key>: cannot add or remove
    <what> in a running <running>"``.
    """
    if set(old) != set(new):
        raise KeyError(f"{key}: cannot add or remove {what} in a running {running}")


def refuse_fixed_entries(
    old: Mapping[str, BaseModel],
    new: Mapping[str, BaseModel],
    changeable: Collection[str],
    *,
    key: str,
    what: str,
    running: str = "market",
) -> None:
    """Raise KeyError if `new` adds or removes an entry of `old` (`refuse_new_keys`) or
    changes a field of one that is not in `changeable` (`refuse_fixed` at ``<key>.<entry>.``):
    a Comptroller's markets, a Comet's assets, Maker's ilks.
    """
    refuse_new_keys(old, new, key, what, running)
    for name, before in old.items():
        refuse_fixed(before, new[name], changeable, at=f"{key}.{name}.", running=running)
