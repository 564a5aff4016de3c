"""The sharing configuration: typed models, validation, and the per-(account, region) plan.

Everything the app builds is derived from one YAML file. It is validated completely before
any construct exists; every problem is reported at once (field errors and cross-field errors in
the same run), each naming the field as the user wrote it, the value, and why a bound exists.
"""

from __future__ import annotations

import difflib
import functools
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import botocore.session
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from config.alarm_notifications import WHY_EMAILS, AlarmNotifications, topic_region_problems
from config.organization import SharingMode
from config.query_role import WHY_TRUSTED, QueryRole, principal_partition
from config.rollout import RolloutSection
from config.yaml_lists import ListAsTuple

INVITATION_LIFETIME_MINUTES = 12 * 60
DEFAULT_SHARE_NAME = "sm_lineage_sharing"
ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
ACCOUNT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,39}$"
SHARE_NAME_PATTERN = r"^[A-Za-z0-9_.+=@-]{1,255}$"
MIN_SWEEP_INTERVAL_MINUTES = 5
MAX_TAGS = 40

# Why each bound exists: appended to the error when a value breaks it, and part of the field's
# description (which editors show from the JSON schema).
WHY = {
    "share_name": (
        "the RAM share's name; the producer role is fenced to exactly this name "
        "(ram:ResourceShareName), so it is kept to the characters IAM names and tags accept: "
        "letters, digits and _.+=@-, at most 255"
    ),
    "id": "AWS account ids are 12 digits; quote them, YAML turns 012345678901 into a number",
    "name": (
        "it becomes part of the stack name LineageSharing-<name>-<region>; CloudFormation stack "
        "names take letters, digits and '-', starting with a letter; at most 40 characters keep "
        "the stack name well under CloudFormation's 128"
    ),
    "regions": "a region where both AWS RAM and SageMaker exist (botocore's endpoint data)",
    "sweep_interval_minutes": (
        f"at least {MIN_SWEEP_INTERVAL_MINUTES}: every run lists every invitation and share, "
        "more often only adds API calls and Lambda runs; under "
        f"{INVITATION_LIFETIME_MINUTES}: RAM invitations expire 12 hours after they are sent, "
        "so a sweep must come sooner"
    ),
    "log_retention_days": "CloudWatch Logs accepts only these retention periods",
    "tags": (
        f"at most {MAX_TAGS} tags: AWS resources take at most 50, the rest is left for tags your "
        "organization adds; keys 1-128 and values up to 256 characters, AWS's tag limits"
    ),
    "per_region": (
        "lineage groups and RAM shares are regional: with per_region, accounts share only with "
        "the accounts that list the same region"
    ),
    "emails": WHY_EMAILS,
    "assumable_by": WHY_TRUSTED,
}


class ConfigError(Exception):
    """The config file is invalid; the message lists every problem found."""


class _CrossFieldProblems(ValueError):
    """Raised by the model's cross-field check; parse_config reports these problems from the
    raw file instead (so they come even when fields fail too), and skips this error."""


@functools.cache
def known_regions() -> frozenset[str]:
    """Regions where both RAM and SageMaker exist, from botocore's bundled endpoint data."""
    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        ram = set(session.get_available_regions("ram", partition_name=partition))
        sagemaker = set(session.get_available_regions("sagemaker", partition_name=partition))
        regions |= ram & sagemaker
    return frozenset(regions)


@functools.cache
def partition_of(region: str) -> str:
    return botocore.session.get_session().get_partition_for_region(region)


def _did_you_mean(value: str, choices: Iterable[str], n: int = 1) -> str:
    close = difflib.get_close_matches(value, sorted(choices), n=n)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def _account_id(value: Any) -> str:
    # YAML turns an unquoted 012345678901 into a number and drops the leading zero, so
    # numbers are refused outright instead of being "fixed" into the wrong account.
    if not isinstance(value, str):
        raise ValueError(
            f"account id {value!r} must be a quoted string of 12 digits "
            "(unquoted numbers lose leading zeros)"
        )
    if not ACCOUNT_ID_PATTERN.fullmatch(value):
        raise ValueError(f"account id {value!r} must be exactly 12 digits")
    return value


def _region(value: Any) -> str:
    if not isinstance(value, str) or value not in known_regions():
        hint = _did_you_mean(value, known_regions(), n=3) if isinstance(value, str) else ""
        raise ValueError(
            f"unknown region {value!r}: expected a region where RAM and SageMaker exist, "
            f"e.g. us-east-1{hint}"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


AccountName = Annotated[str, StringConstraints(pattern=ACCOUNT_NAME_PATTERN)]
Region = Annotated[str, BeforeValidator(_region)]


class Account(_Strict):
    """One AWS account taking part in lineage sharing."""

    id: str = Field(description=f"The account id: {WHY['id']}.")
    name: AccountName = Field(description=f"Friendly name: {WHY['name']}.")
    regions: ListAsTuple[Region] = Field(
        min_length=1, description=f"The account's regions, each {WHY['regions']}."
    )
    wave: int = Field(default=1, ge=1, description="Pipeline wave (config/rollout.py).")
    query_role: QueryRole | None = Field(
        default=None,
        description="Opt in to a role for reading the producers' lineage from this account "
        "(config/query_role.py); only for an account that receives.",
    )

    outside_organization: bool = Field(
        default=False,
        description="Organization mode: this account is not in the organization, so it shares "
        "and receives through per-account invitations (RAM allows them only to shares with "
        "allowExternalPrincipals).",
    )

    @field_validator("id", mode="before")
    @classmethod
    def _check_id(cls, value: Any) -> str:
        return _account_id(value)

    @model_validator(mode="before")
    @classmethod
    def _single_region_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "region" in data:
            if "regions" in data:
                raise ValueError("give either 'region' or 'regions', not both")
            data = {**data, "regions": [data["region"]]}
            del data["region"]
        return data

    @field_validator("regions", mode="after")
    @classmethod
    def _check_regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"regions {list(value)} lists a region twice")
        return value

    @model_validator(mode="after")
    def _principals_in_own_partition(self) -> Account:
        if self.query_role is None:
            return self
        partition = partition_of(self.regions[0])
        for index, principal in enumerate(self.query_role.assumable_by):
            named = principal_partition(principal)
            if named is not None and named != partition:
                raise ValueError(
                    f"query_role.assumable_by[{index}]: {principal!r} is in partition "
                    f"{named!r}, but this account is in {partition!r}: a role trusts principals "
                    "of its own partition only"
                )
        return self


class MeshTopology(_Strict):
    """Every account shares with every other account (per_region: within each region)."""

    type: Literal["mesh"]
    per_region: bool = Field(
        default=False,
        description=(
            "false: every pair of accounts must have a region in common. true: a mesh within "
            f"each region; {WHY['per_region']}."
        ),
    )


class HubAndSpokeTopology(_Strict):
    """A hub account and spokes; spokes never share with each other."""

    type: Literal["hub-and-spoke"]
    hub: str = Field(description="Name of the hub account.")
    direction: Literal["spokes-to-hub", "hub-to-spokes", "both"] = "both"


class EdgesTopology(_Strict):
    """Explicit producer -> consumers edges, by account name."""

    type: Literal["edges"]
    edges: dict[str, tuple[str, ...]] = Field(
        min_length=1, description="producer name: [consumer names]"
    )

    @field_validator("edges", mode="before")
    @classmethod
    def _lists_to_tuples(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        return value


Topology = Annotated[
    MeshTopology | HubAndSpokeTopology | EdgesTopology, Field(discriminator="type")
]
_TOPOLOGY_MODELS: dict[str, type[BaseModel]] = {
    "mesh": MeshTopology,
    "hub-and-spoke": HubAndSpokeTopology,
    "edges": EdgesTopology,
}
_TOPOLOGY_ADAPTER: TypeAdapter[Any] = TypeAdapter(Topology)

TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]
LogRetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]


class SharingConfig(_Strict):
    """The whole file."""

    share_name: Annotated[str, StringConstraints(pattern=SHARE_NAME_PATTERN)] = Field(
        default=DEFAULT_SHARE_NAME,
        description=f"Name of each producer's RAM share: {WHY['share_name']}.",
    )
    accounts: tuple[Account, ...] = Field(description="The accounts taking part, at least two.")
    topology: Topology = Field(description="Who shares with whom.")
    sweep_interval_minutes: int = Field(
        default=60,
        ge=MIN_SWEEP_INTERVAL_MINUTES,
        lt=INVITATION_LIFETIME_MINUTES,
        description=(
            "How often the consumer's acceptor re-lists invitations and the producer's schedule "
            f"re-sends expired ones: {WHY['sweep_interval_minutes']}."
        ),
    )
    bootstrap_lineage_group: bool = Field(
        default=False,
        description="Create a marker context when an account has no lineage group yet.",
    )
    log_retention_days: LogRetentionDays = Field(
        default=30, description=f"Retention of every log group: {WHY['log_retention_days']}."
    )
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        max_length=MAX_TAGS,
        description=f"Tags for every stack resource and the RAM share: {WHY['tags']}.",
    )
    alarm_notifications: AlarmNotifications | None = Field(
        default=None,
        description="Where every alarm of every stack sends ALARM and OK notifications "
        "(config/alarm_notifications.py); absent: alarms only change state.",
    )
    sharing: SharingMode = Field(
        default_factory=SharingMode,
        description="Per-account invitations (default) or sharing through AWS Organizations "
        "(config/organization.py).",
    )
    rollout: RolloutSection = None  # after `accounts`: its checks read them

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_tuple(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("the account list is empty: list at least two accounts")
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _cross_checks(self) -> SharingConfig:
        drafts = [
            _AccountDraft(f"accounts[{i}]", a.id, a.name, a.regions, a.query_role is not None)
            for i, a in enumerate(self.accounts)
        ]
        notifications = self.alarm_notifications
        topic_arns = notifications.topic_arns if notifications else None
        problems = list(_cross_field_problems(drafts, self.topology, topic_arns))
        if problems:
            raise _CrossFieldProblems("\n  - ".join(problems))
        return self

    @model_validator(mode="after")
    def _organization_checks(self) -> SharingConfig:
        problems = list(_organization_problems(self))
        if problems:
            raise ValueError("\n  - ".join(problems))
        return self

    def account_named(self, name: str) -> Account:
        return next(account for account in self.accounts if account.name == name)

    def edges(self) -> list[tuple[Account, Account]]:
        """Directed (producer, consumer) pairs the topology asks for, before regions."""
        named = [(a.name, a.regions) for a in self.accounts]
        by_name: dict[str, Account] = {}
        for account in self.accounts:  # a name lookup per pair would be quadratic in a mesh
            by_name.setdefault(account.name, account)
        return [
            (by_name[producer], by_name[consumer])
            for producer, consumer in _topology_pairs(self.topology, named)
        ]


def _organization_problems(config: SharingConfig) -> Iterable[str]:
    sharing = config.sharing
    if not sharing.organization:
        for index, account in enumerate(config.accounts):
            if account.outside_organization:
                yield (
                    f"accounts[{index}].outside_organization: applies only with "
                    "`sharing: {mode: organization, ...}` (in invitations mode every account is "
                    "invited by its account id anyway)"
                )
        return
    partitions = {partition_of(region) for a in config.accounts for region in a.regions}
    region = sharing.management_account_region
    if region is not None:
        partitions.add(partition_of(region))
    if partitions != {sharing.partition}:
        yield (
            f"sharing.organization_arn: {sharing.organization_arn!r} is in partition "
            f"{sharing.partition!r}, but the accounts' regions (and management_account_region) "
            f"are in {sorted(partitions)}: an organization and its accounts share a partition"
        )
    inside = [a for a in config.accounts if not a.outside_organization]
    for index, account in enumerate(config.accounts):
        if account.outside_organization and account.id == sharing.management_account:
            yield (
                f"accounts[{index}]: {account.name} ({account.id}) is the management account of "
                f"{sharing.organization_arn}, so it cannot be outside_organization"
            )
    if not inside:
        yield (
            "accounts: with sharing.mode organization at least one account must be in the "
            "organization (every account has outside_organization: true)"
        )


def _topology_pairs(
    topology: Any, accounts: Sequence[tuple[str, tuple[str, ...] | None]]
) -> list[tuple[str, str]]:
    """(producer name, consumer name) pairs; `accounts` are (name, regions or None if unknown)."""
    names = [name for name, _ in accounts]
    if isinstance(topology, MeshTopology):
        regions = dict(accounts)
        return [
            (p, c)
            for p in names
            for c in names
            if p != c and (not topology.per_region or _share_a_region(regions[p], regions[c]))
        ]
    if isinstance(topology, HubAndSpokeTopology):
        spokes = [name for name in names if name != topology.hub]
        pairs: list[tuple[str, str]] = []
        if topology.direction in ("spokes-to-hub", "both"):
            pairs += [(spoke, topology.hub) for spoke in spokes]
        if topology.direction in ("hub-to-spokes", "both"):
            pairs += [(topology.hub, spoke) for spoke in spokes]
        return pairs
    return [
        (producer, consumer)
        for producer, consumers in topology.edges.items()
        for consumer in consumers
    ]


@functools.cache  # a mesh asks for every pair of accounts, but has few distinct region lists
def _share_a_region(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> bool:
    return a is None or b is None or bool(set(a) & set(b))


# ============================================================================ cross-field checks
@dataclass(frozen=True)
class _AccountDraft:
    """What the cross-field checks need of one account; None where the field itself is invalid
    (that field's own error is reported already), so both kinds of error come in one run."""

    path: str
    id: str | None
    name: str | None
    regions: tuple[str, ...] | None
    query_role: bool = False


def _drafts_from_raw(raw_accounts: Any) -> list[_AccountDraft]:
    if not isinstance(raw_accounts, list):
        return []
    drafts = []
    for index, raw in enumerate(raw_accounts):
        if not isinstance(raw, dict):
            continue
        regions = raw.get("regions", [raw["region"]] if "region" in raw else None)
        valid_regions = (
            tuple(regions)
            if isinstance(regions, list) and regions and all(_is_region(r) for r in regions)
            else None
        )
        drafts.append(
            _AccountDraft(
                f"accounts[{index}]",
                raw["id"] if isinstance(raw.get("id"), str) else None,
                raw["name"] if isinstance(raw.get("name"), str) else None,
                valid_regions,
                raw.get("query_role") is not None,
            )
        )
    return drafts


def _is_region(value: Any) -> bool:
    return isinstance(value, str) and value in known_regions()


def _topology_or_none(raw_topology: Any) -> Any:
    try:
        return _TOPOLOGY_ADAPTER.validate_python(raw_topology)
    except ValidationError:
        return None  # its own errors are reported already


def _cross_field_problems(
    drafts: Sequence[_AccountDraft], topology: Any, topic_arns: Sequence[Any] | None = None
) -> Iterable[str]:
    yield from _duplicate_problems(drafts)
    named = [d for d in drafts if d.name is not None]
    names = {d.name for d in named}
    if isinstance(topology, HubAndSpokeTopology) and topology.hub not in names:
        yield (
            f"topology.hub: {topology.hub!r} is not the name of a listed account"
            f"{_did_you_mean(topology.hub, names)}"
        )
        return
    if isinstance(topology, EdgesTopology):
        unknown = list(_edge_problems(topology, names))
        yield from unknown
        if unknown:
            return
    if len(drafts) < 2:
        yield "accounts: sharing needs at least two accounts"
        return
    if topology is None:
        return
    regions = {d.name: d.regions for d in named}
    pairs = _topology_pairs(topology, [(d.name, d.regions) for d in named])
    yield from _region_problems(topology, pairs, regions)
    if isinstance(topology, MeshTopology) and topology.per_region:
        partnered = {name for pair in pairs for name in pair}
        for draft in named:
            if draft.name not in partnered and draft.regions is not None:
                yield (
                    f"{draft.path}: {draft.name} has no partner: no other account lists any of "
                    f"its regions {list(draft.regions)}, so it would share with nobody"
                )
    consumers = {consumer for _, consumer in pairs}
    for draft in named:
        if draft.query_role and draft.name not in consumers:
            yield (
                f"{draft.path}.query_role: {draft.name} receives from no producer, so its query "
                "role could read nothing; remove query_role or make it a consumer in the topology"
            )
    if topic_arns is not None and all(d.regions is not None for d in named):
        yield from topic_region_problems(
            topic_arns, _stack_regions_of(pairs, regions), partition_of
        )


def _stack_regions_of(
    pairs: Sequence[tuple[str, str]], regions: Mapping[str, tuple[str, ...] | None]
) -> dict[str, set[str]]:
    """region -> names of the accounts with a stack there (both ends of a pair, in each region
    the two have in common)."""
    stacks: dict[str, set[str]] = {}
    for producer, consumer in pairs:
        for region in set(regions[producer] or ()) & set(regions[consumer] or ()):
            stacks.setdefault(region, set()).update((producer, consumer))
    return stacks


def _duplicate_problems(drafts: Sequence[_AccountDraft]) -> Iterable[str]:
    for field_name in ("id", "name"):
        first_path: dict[str, str] = {}
        for draft in drafts:
            value = getattr(draft, field_name)
            if value is None:
                continue
            if value in first_path:
                yield (
                    f"{draft.path}.{field_name}: account {field_name} {value!r} is listed more "
                    f"than once (first at {first_path[value]})"
                )
            else:
                first_path[value] = draft.path


def _edge_problems(topology: EdgesTopology, names: set[str]) -> Iterable[str]:
    for producer, consumers in topology.edges.items():
        if producer not in names:
            yield (
                f"topology.edges: producer {producer!r} is not the name of a listed account"
                f"{_did_you_mean(producer, names)}"
            )
        seen: set[str] = set()
        for consumer in consumers:
            if consumer not in names:
                yield (
                    f"topology.edges.{producer}: consumer {consumer!r} "
                    f"is not the name of a listed account{_did_you_mean(consumer, names)}"
                )
            elif consumer == producer:
                yield f"topology.edges.{producer}: an account cannot share with itself"
            if consumer in seen:
                yield f"topology.edges.{producer}: consumer {consumer!r} is listed twice"
            seen.add(consumer)


def _region_problems(
    topology: Any,
    pairs: Sequence[tuple[str, str]],
    regions: Mapping[str, tuple[str, ...] | None],
) -> Iterable[str]:
    if isinstance(topology, MeshTopology):
        hint = "; for a mesh within each region write `topology: {type: mesh, per_region: true}`"
    else:
        hint = "; give both accounts a common region or remove the pair from the topology"
    reported: set[frozenset[str]] = set()
    for producer, consumer in pairs:
        if _share_a_region(regions[producer], regions[consumer]):
            continue
        if isinstance(topology, MeshTopology):
            if frozenset((producer, consumer)) in reported:
                continue  # a mesh has both directions: one line per pair of accounts
            reported.add(frozenset((producer, consumer)))
        yield (
            f"topology: {producer} -> {consumer} have no region in common "
            f"({list(regions[producer] or ())} vs {list(regions[consumer] or ())}); "
            f"lineage groups and RAM shares are regional{hint}"
        )


# ============================================================================ the plan
@dataclass(frozen=True)
class StackPlan:
    """What one (account, region) stack deploys: whom it shares with, whom it accepts from.

    `consumers` and `producers` are the account ids the topology pairs with this one. How the
    share reaches them depends on the sharing mode (config/organization.py): `share_principals`
    are the RAM principals of this stack's share (account ids, or the organization/OU ARNs),
    `allow_external_principals` its RAM flag, and `invited_by` the producers whose shares send
    this account invitations, which its acceptor accepts. Left at their defaults they are the
    invitations mode's: every consumer is a principal, every producer invites.
    """

    account: Account
    region: str
    consumers: tuple[str, ...]
    producers: tuple[str, ...]
    organization_principals: tuple[str, ...] = ()
    allow_external_principals: bool = True
    invited_by: tuple[str, ...] | None = None
    # Account-id principals next to the organization principals (None: every consumer).
    account_principals: tuple[str, ...] | None = None

    @property
    def stack_name(self) -> str:
        return f"LineageSharing-{self.account.name}-{self.region}"

    @property
    def shares(self) -> bool:
        return bool(self.consumers)

    @property
    def receives(self) -> bool:
        return bool(self.producers)

    @property
    def share_principals(self) -> tuple[str, ...]:
        accounts = self.consumers if self.account_principals is None else self.account_principals
        return (*self.organization_principals, *accounts)

    @property
    def inviting_producers(self) -> tuple[str, ...]:
        """The producers this account accepts invitations from (its acceptor's allow-list)."""
        return self.producers if self.invited_by is None else self.invited_by

    @property
    def accepts_invitations(self) -> bool:
        return bool(self.inviting_producers)


def plan_stacks(config: SharingConfig) -> list[StackPlan]:
    """One plan per (account, region); edges only hold in regions both accounts use."""
    consumers_of, producers_of = _partners(config)
    in_region: dict[str, set[str]] = {}
    for account in config.accounts:
        for region in account.regions:
            in_region.setdefault(region, set()).add(account.id)
    outside = {a.id for a in config.accounts if a.outside_organization}
    plans = []
    for account in config.accounts:
        for region in account.regions:
            here = in_region[region] - {account.id}
            consumers = tuple(sorted(consumers_of.get(account.id, set()) & here))
            producers = tuple(sorted(producers_of.get(account.id, set()) & here))
            if consumers or producers:
                plan = StackPlan(account, region, consumers, producers)
                if config.sharing.organization:
                    plan = _organization_plan(config, plan, outside)
                plans.append(plan)
    return plans


def _organization_plan(config: SharingConfig, plan: StackPlan, outside: set[str]) -> StackPlan:
    """How the shares go in organization mode (see config/organization.py).

    A producer in the organization shares with the organization/OU principals when the topology
    gives every account in scope its lineage (a mesh), else with its consumers' account ids (in
    the organization those get access without invitations too, once RAM sharing with AWS
    Organizations is enabled). Consumers outside the organization are always account-id
    principals and invited, which RAM allows only to a share with allowExternalPrincipals; a
    producer outside the organization invites every consumer. An account accepts invitations
    only from what invites it: outside producers, or every producer if it is outside itself.
    """
    producer_outside = plan.account.outside_organization
    outside_consumers = tuple(c for c in plan.consumers if c in outside)
    if producer_outside:
        organization_principals: tuple[str, ...] = ()
        account_principals = plan.consumers
        allow_external = True
    elif isinstance(config.topology, MeshTopology):
        organization_principals = config.sharing.principals if plan.consumers else ()
        account_principals = outside_consumers
        allow_external = bool(outside_consumers)
    else:
        organization_principals = ()
        account_principals = plan.consumers
        allow_external = bool(outside_consumers)
    invited_by = (
        plan.producers
        if plan.account.outside_organization
        else tuple(p for p in plan.producers if p in outside)
    )
    return replace(
        plan,
        organization_principals=organization_principals,
        account_principals=account_principals,
        allow_external_principals=allow_external,
        invited_by=invited_by,
    )


def _partners(config: SharingConfig) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Account id -> the ids it shares with, and -> the ids it accepts from, before regions.
    Indexed once, because scanning every edge for every account is quadratic in a mesh."""
    if isinstance(config.topology, MeshTopology):
        everyone = {account.id for account in config.accounts}
        return {account.id: everyone for account in config.accounts}, {
            account.id: everyone for account in config.accounts
        }
    consumers_of: dict[str, set[str]] = {}
    producers_of: dict[str, set[str]] = {}
    for producer, consumer in config.edges():
        consumers_of.setdefault(producer.id, set()).add(consumer.id)
        producers_of.setdefault(consumer.id, set()).add(producer.id)
    return consumers_of, producers_of


# ============================================================================ error messages
def _location(loc: Sequence[int | str], raw: Any) -> str:
    """pydantic's location as the path the user sees in the file: accounts[1].region (not
    regions[0] when the file says `region:`), without the topology's union tag."""
    path = ""
    node = raw
    parts = list(loc)
    index = 0
    while index < len(parts):
        part = parts[index]
        index += 1
        if path == "topology" and part in _TOPOLOGY_MODELS:
            continue  # the discriminated union's tag, not a key in the file
        wrote_region = isinstance(node, dict) and "region" in node and "regions" not in node
        if part == "regions" and wrote_region:
            path += ".region"
            break  # one region: the index pydantic adds is not in the file
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
        elif part == "[key]":
            path += " (the key)"
        elif not re.fullmatch(r"[A-Za-z_][\w-]*", part):
            path += f"[{part!r}]"  # a mapping key that would not read as a path, e.g. ''
            node = node.get(part) if isinstance(node, dict) else None
        else:
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return path or "(top level)"


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model whose fields live at `loc` (the parent of an unknown key), found by walking
    the models' own field types, so a section added to any model is covered without a list."""
    current: Any = SharingConfig
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return None
    models = [member for member in _union_members(current) if _is_model(member)]
    return models[0] if len(models) == 1 else None


def _step_into(annotation: Any, part: int | str) -> Any:
    for member in _union_members(annotation):
        if isinstance(part, int):
            args = [a for a in typing.get_args(member) if a is not Ellipsis]
            if typing.get_origin(member) in (tuple, list) and args:
                return args[0]
        elif _is_model(member) and part in member.model_fields:
            return member.model_fields[part].annotation
        elif _is_model(member) and part in _TOPOLOGY_MODELS and member in _TOPOLOGY_MODELS.values():
            return _TOPOLOGY_MODELS[part]  # a discriminated union's tag in pydantic's location
    return None


def _union_members(annotation: Any) -> list[Any]:
    """`A | B | None` and `Annotated[A | None, ...]` as their member types, None dropped."""
    if typing.get_origin(annotation) is Annotated:
        return _union_members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return [m for member in members for m in _union_members(member)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    keys = list(model.model_fields)
    return [*keys, "region"] if model is Account else keys


_BOUND_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "string_pattern_mismatch",
    "string_too_long",
    "string_too_short",
    "too_long",
    "too_short",
    "literal_error",
}


def _why(loc: Sequence[int | str]) -> str:
    """Why the bound broken at `loc` exists, for the fields whose bounds need explaining."""
    named = [part for part in loc if isinstance(part, str)]
    if named[:1] == ["tags"]:
        return WHY["tags"]
    for field_name in reversed(named):
        if field_name in WHY:
            return WHY[field_name]
    return ""


def _describe(error: Mapping[str, Any], raw: Any) -> str:
    loc = error["loc"]
    where = _location(loc, raw)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(loc[:-1])
        allowed = _allowed_keys(model) if model else []
        hint = _did_you_mean(key, allowed)
        listed = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"{where}: unknown key{hint}{listed}"
    if error["type"] == "missing":
        if loc[-1] == "regions" and len(loc) == 3:
            return f"{where.rsplit('.', 1)[0]}: give `region: <name>` or `regions: [<name>, ...]`"
        return f"{where}: required field is missing"
    if error["type"] == "union_tag_invalid":
        tag = str(error["ctx"]["tag"])
        return (
            f"{where}.type: unknown topology type {tag!r}"
            f"{_did_you_mean(tag, _TOPOLOGY_MODELS)} (one of {', '.join(_TOPOLOGY_MODELS)})"
        )
    if error["type"] == "value_error":
        return f"{where}: {message}" if loc else message
    described = f"{where}: {message}; got {error['input']!r}"
    why = _why(loc) if error["type"] in _BOUND_ERRORS else ""
    return f"{described} (why: {why})" if why else described


def _problems(raw: dict[str, Any], error: ValidationError) -> list[str]:
    """Every field error, then every cross-field problem the valid parts already show."""
    details = error.errors()
    locations = [tuple(detail["loc"]) for detail in details]
    lines = []
    for detail in details:
        loc = tuple(detail["loc"])
        if isinstance(detail.get("ctx", {}).get("error"), _CrossFieldProblems):
            continue  # the cross-field checks of a valid model: reported below
        if any(len(other) > len(loc) and other[: len(loc)] == loc for other in locations):
            continue  # e.g. "too short" of a list whose item failed: the item's error says more
        lines.append(_describe(detail, raw))
    drafts = _drafts_from_raw(raw.get("accounts"))
    notifications = raw.get("alarm_notifications")
    topic_arns = notifications.get("topic_arns") if isinstance(notifications, dict) else None
    lines += _cross_field_problems(
        drafts,
        _topology_or_none(raw.get("topology")),
        topic_arns if isinstance(topic_arns, list) else None,
    )
    return list(dict.fromkeys(lines))


def parse_config(raw: Any, source: str = "<config>") -> SharingConfig:
    """Validate already-loaded data; raise ConfigError naming every bad field."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: expected a mapping at the top level, got {type(raw).__name__}"
        )
    try:
        config = SharingConfig.model_validate(raw)
    except ValidationError as exc:
        lines = _problems(raw, exc)
        raise ConfigError(f"{source}: invalid configuration\n  - " + "\n  - ".join(lines)) from None
    from config.capacity import capacity_problems  # it plans stacks: imports this module

    problems = list(capacity_problems(plan_stacks(config)))
    if problems:
        raise ConfigError(
            f"{source}: cannot be deployed within AWS limits\n  - " + "\n  - ".join(problems)
        )
    return config


def load_config(path: str | Path) -> SharingConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        # libyaml's loader when PyYAML has it (its wheels do): ten times faster on a fleet.
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(raw, source=str(path))
