"""YAML lists for the config's tuple fields.

The config models are strict (pydantic refuses a list where a tuple is declared) and frozen
(tuples keep them hashable). YAML only has lists, so every tuple field takes a list as written
and validates each element as strictly as before.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator

Element = TypeVar("Element")


def _list_as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


ListAsTuple = Annotated[tuple[Element, ...], BeforeValidator(_list_as_tuple)]
