"""IAM condition operators: how one Condition block entry holds against a request context.

Top down: PolicyError (what the evaluator refuses to evaluate), the `*`/`?` glob and ARN
matching that StringLike and ArnLike use (simulation.iam uses it for Action and Resource
too), the operator table (BaseOperator, BASE_OPERATORS, Null), and Condition, which combines
an operator with the ForAllValues:/ForAnyValue: prefixes and the IfExists suffix. The
semantics, including the reading of a multivalued value under a single-valued operator, are
described in simulation.iam.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


class PolicyError(ValueError):
    """A statement the evaluator cannot evaluate faithfully (syntax or unsupported feature)."""


# ============================================================================ matching
@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    translated = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(translated, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching (Resource, ArnLike, ArnEquals): `*`/`?` glob within each of the
    five leading colon-separated segments, and over the whole resource part. A pattern with
    fewer segments (`arn:aws:*`, `*`) lets its last `*` run past the colons."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) == 6 and len(arn_parts) == 6:
        return all(glob_matches(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))
    return glob_matches(pattern, arn)


# ============================================================================ operators
SET_PREFIXES = ("ForAllValues:", "ForAnyValue:")
IF_EXISTS = "IfExists"


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def holds(policy_value: str, request_value: str) -> bool:
        try:
            return compare(float(request_value), float(policy_value))
        except ValueError:
            return False

    return holds


@dataclass(frozen=True)
class BaseOperator:
    matches: Callable[[str, str], bool]  # (policy value, request value)
    negated: bool = False  # true for the …Not… operators: the values are NOR-ed


_STRING_EQUALS = BaseOperator(lambda p, v: p == v)
_STRING_EQUALS_IGNORE_CASE = BaseOperator(lambda p, v: p.lower() == v.lower())
_STRING_LIKE = BaseOperator(lambda p, v: glob_matches(p, v))
# IAM treats ArnEquals like ArnLike: both accept wildcards, segment by segment.
_ARN_LIKE = BaseOperator(arn_matches)
_NUMERIC_EQUALS = BaseOperator(_numeric(lambda v, p: v == p))

BASE_OPERATORS: dict[str, BaseOperator] = {
    "StringEquals": _STRING_EQUALS,
    "StringNotEquals": BaseOperator(_STRING_EQUALS.matches, negated=True),
    "StringEqualsIgnoreCase": _STRING_EQUALS_IGNORE_CASE,
    "StringNotEqualsIgnoreCase": BaseOperator(_STRING_EQUALS_IGNORE_CASE.matches, negated=True),
    "StringLike": _STRING_LIKE,
    "StringNotLike": BaseOperator(_STRING_LIKE.matches, negated=True),
    "ArnEquals": _ARN_LIKE,
    "ArnLike": _ARN_LIKE,
    "ArnNotEquals": BaseOperator(_ARN_LIKE.matches, negated=True),
    "ArnNotLike": BaseOperator(_ARN_LIKE.matches, negated=True),
    "NumericEquals": _NUMERIC_EQUALS,
    "NumericNotEquals": BaseOperator(_NUMERIC_EQUALS.matches, negated=True),
    "NumericLessThan": BaseOperator(_numeric(lambda v, p: v < p)),
    "NumericLessThanEquals": BaseOperator(_numeric(lambda v, p: v <= p)),
    "NumericGreaterThan": BaseOperator(_numeric(lambda v, p: v > p)),
    "NumericGreaterThanEquals": BaseOperator(_numeric(lambda v, p: v >= p)),
    "Bool": BaseOperator(lambda p, v: p.lower() == v.lower()),
}
NULL_OPERATOR = "Null"


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str
    values: tuple[str, ...]  # OR-ed (NOR-ed for a negated operator)

    @property
    def set_prefix(self) -> str | None:
        return next((p for p in SET_PREFIXES if self.operator.startswith(p)), None)

    @property
    def base_name(self) -> str:
        return self.operator.removeprefix(self.set_prefix or "").removesuffix(IF_EXISTS)

    @property
    def if_exists(self) -> bool:
        return self.operator.endswith(IF_EXISTS) and self.base_name != NULL_OPERATOR

    def validate(self) -> None:
        if self.base_name != NULL_OPERATOR and self.base_name not in BASE_OPERATORS:
            raise PolicyError(f"condition operator {self.operator!r} is not modelled")
        if self.base_name == NULL_OPERATOR and (self.set_prefix or self.operator != "Null"):
            raise PolicyError(f"{self.operator!r}: Null takes no set prefix and no IfExists")
        if any("${" in value for value in self.values):
            raise PolicyError(f"{self.operator} {self.key}: policy variables are not modelled")

    def failure(self, context: Mapping[str, tuple[str, ...]]) -> str | None:
        """None when the condition holds for this request context, else why it does not."""
        request_values = context.get(self.key.lower(), ())
        holds = self._holds(request_values)
        if holds:
            return None
        shown = (
            "the key is absent from the request context"
            if not request_values
            else f"the request has {quote_values(request_values)}"
        )
        return f"condition {self.operator} {self.key} {quote_values(self.values)} failed: {shown}"

    def _holds(self, request_values: tuple[str, ...]) -> bool:
        if self.base_name == NULL_OPERATOR:
            absent = not request_values
            return any((value.lower() == "true") == absent for value in self.values)
        base = BASE_OPERATORS[self.base_name]
        if not request_values:  # absent (an empty multivalued key counts as absent)
            if self.if_exists or self.set_prefix == "ForAllValues:":
                return True
            if self.set_prefix == "ForAnyValue:":
                return False
            return base.negated

        def value_holds(request_value: str) -> bool:
            matched = any(base.matches(p, request_value) for p in self.values)
            return not matched if base.negated else matched

        if self.set_prefix == "ForAnyValue:":
            return any(value_holds(v) for v in request_values)
        # ForAllValues, and the conservative reading for a single-valued operator.
        return all(value_holds(v) for v in request_values)


def quote_values(values: Sequence[str]) -> str:
    return repr(values[0]) if len(values) == 1 else repr(list(values))
