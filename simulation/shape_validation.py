"""Check a value against a botocore shape: the fake's responses, and service-side input limits.

botocore's own `ParamValidator` checks a request's types and required members on the client.
What it leaves to the service (enums, maximum lengths, patterns, numeric ranges) the fake
checks with `input_constraint_violations`, and every response the fake builds must pass
`output_violations` before it is serialized: a violation there is a bug in the fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import regex
from botocore.model import Shape


class ResponseShapeViolation(AssertionError):
    """The fake built a response that the real service could not send."""


def output_violations(shape: Shape | None, value: Mapping[str, Any]) -> list[str]:
    """Every way `value` breaks the operation's output shape (empty when it fits)."""
    if shape is None:
        return [] if not value else [f"operation has no output, got {sorted(value)}"]
    checker = _ShapeChecker(strict_types=True)
    checker.check(shape, value, "response")
    return checker.violations


def input_constraint_violations(shape: Shape | None, params: Mapping[str, Any]) -> list[str]:
    """The service-side limits (enum, length, pattern, range) that the request breaks.

    Types and required members were already checked by botocore on the client, and a request
    timestamp may be a datetime, a string or a number there, so those are not rechecked.
    """
    if shape is None:
        return []
    checker = _ShapeChecker(strict_types=False)
    checker.check(shape, params, "request")
    return checker.violations


class _ShapeChecker:
    def __init__(self, *, strict_types: bool) -> None:
        self.strict_types = strict_types
        self.violations: list[str] = []

    def check(self, shape: Shape, value: Any, path: str) -> None:
        check_type = getattr(self, f"_check_{shape.type_name}", None)
        if check_type is None:
            self.violations.append(f"{path}: shape type {shape.type_name} is not checked")
            return
        check_type(shape, value, path)

    def _check_structure(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self._wrong_type(path, "structure", value)
            return
        for name in shape.metadata.get("required", []):
            if name not in value:
                self.violations.append(f"{path}: missing required member {name!r}")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                self.violations.append(f"{path}: unknown member {name!r}")
            elif member_value is None:
                self.violations.append(f"{path}.{name}: None (omit the member instead)")
            else:
                self.check(member, member_value, f"{path}.{name}")

    def _check_list(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            self._wrong_type(path, "list", value)
            return
        self._check_size(shape, len(value), path, "length")
        for index, item in enumerate(value):
            self.check(shape.member, item, f"{path}[{index}]")

    def _check_map(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self._wrong_type(path, "map", value)
            return
        self._check_size(shape, len(value), path, "size")
        for key, item in value.items():
            self.check(shape.key, key, f"{path} key {key!r}")
            self.check(shape.value, item, f"{path}[{key!r}]")

    def _check_string(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self._wrong_type(path, "string", value)
            return
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            self.violations.append(f"{path}: {value!r} is not one of {enum}")
        self._check_size(shape, len(value), path, "length")
        pattern = shape.metadata.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            self.violations.append(f"{path}: {value!r} does not match pattern {pattern!r}")

    def _check_integer(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self._wrong_type(path, "integer", value)
            return
        self._check_size(shape, value, path, "value")

    _check_long = _check_integer

    def _check_double(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._wrong_type(path, "number", value)

    _check_float = _check_double

    def _check_boolean(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self._wrong_type(path, "boolean", value)

    def _check_timestamp(self, shape: Shape, value: Any, path: str) -> None:
        if not self.strict_types:
            return
        if not isinstance(value, datetime) or value.tzinfo is None:
            self._wrong_type(path, "timezone-aware datetime", value)

    def _check_blob(self, shape: Shape, value: Any, path: str) -> None:
        if self.strict_types and not isinstance(value, bytes):
            self._wrong_type(path, "bytes", value)

    def _check_size(self, shape: Shape, size: int, path: str, what: str) -> None:
        minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
        if minimum is not None and size < minimum:
            self.violations.append(f"{path}: {what} {size} is below the minimum {minimum}")
        if maximum is not None and size > maximum:
            self.violations.append(f"{path}: {what} {size} is above the maximum {maximum}")

    def _wrong_type(self, path: str, expected: str, value: Any) -> None:
        self.violations.append(f"{path}: expected {expected}, got {type(value).__name__}")


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> regex.Pattern[str] | None:
    # The models' patterns are Java regular expressions (\p{L}, \p{Alnum}); the `regex`
    # module (a cfn-lint dependency) reads them. The few with UTF-16 surrogate ranges,
    # none of them in the operations simulated, cannot be compiled and are not checked.
    try:
        return regex.compile(pattern)
    except regex.error:
        return None
