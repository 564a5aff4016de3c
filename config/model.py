"""The sharing configuration: typed models, validation, and the per-(account, region) plan.

Everything the app builds is derived from one YAML file. It is validated completely before
any construct exists; every problem is reported at once, each naming the field and the value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import botocore.session
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from config.rollout import RolloutSection

INVITATION_LIFETIME_MINUTES = 12 * 60
DEFAULT_SHARE_NAME = "sm_lineage_sharing"
ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")


class ConfigError(Exception):
    """The config file is invalid; the message lists every problem found."""


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
        raise ValueError(
            f"unknown region {value!r}: expected a region where RAM and SageMaker exist, "
            "e.g. us-east-1"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


AccountName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,39}$")]


class Account(_Strict):
    """One AWS account taking part in lineage sharing."""

    id: str
    name: AccountName = Field(
        description="Friendly name; becomes part of the stack name, so letters, digits and '-'."
    )
    regions: tuple[str, ...] = Field(min_length=1)
    wave: int = Field(default=1, ge=1, description="Pipeline wave (config/rollout.py).")

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
        if isinstance(data, dict) and isinstance(data.get("regions"), list):
            data = {**data, "regions": tuple(data["regions"])}
        return data

    @field_validator("regions", mode="before")
    @classmethod
    def _check_regions(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            checked = tuple(_region(region) for region in value)
            if len(set(checked)) != len(checked):
                raise ValueError(f"regions {list(checked)} lists a region twice")
            return checked
        return value


class MeshTopology(_Strict):
    """Every account shares with every other account."""

    type: Literal["mesh"]


class HubAndSpokeTopology(_Strict):
    """A hub account and spokes; spokes never share with each other."""

    type: Literal["hub-and-spoke"]
    hub: str = Field(description="Name of the hub account.")
    direction: Literal["spokes-to-hub", "hub-to-spokes", "both"] = "both"


class EdgesTopology(_Strict):
    """Explicit producer -> consumers edges, by account name."""

    type: Literal["edges"]
    edges: dict[str, tuple[str, ...]] = Field(min_length=1)

    @field_validator("edges", mode="before")
    @classmethod
    def _lists_to_tuples(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        return value


Topology = Annotated[
    MeshTopology | HubAndSpokeTopology | EdgesTopology, Field(discriminator="type")
]

TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]


class SharingConfig(_Strict):
    """The whole file."""

    share_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.+=@-]{1,255}$")] = (
        DEFAULT_SHARE_NAME
    )
    accounts: tuple[Account, ...]
    topology: Topology
    sweep_interval_minutes: int = Field(
        default=60,
        ge=5,
        lt=INVITATION_LIFETIME_MINUTES,
        description="How often the acceptor re-lists invitations; must beat the 12 h expiry.",
    )
    bootstrap_lineage_group: bool = False
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731] = (
        30  # CloudWatch's allowed values
    )
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=40)
    rollout: RolloutSection = None  # after `accounts`: its checks read them

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_tuple(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("the account list is empty: list at least two accounts")
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _cross_checks(self) -> SharingConfig:
        problems = list(_cross_field_problems(self))
        if problems:
            raise ValueError("\n  - ".join(problems))
        return self

    def account_named(self, name: str) -> Account:
        return next(account for account in self.accounts if account.name == name)

    def edges(self) -> list[tuple[Account, Account]]:
        """Directed (producer, consumer) pairs the topology asks for, before regions."""
        accounts = self.accounts
        topology = self.topology
        if isinstance(topology, MeshTopology):
            return [(p, c) for p in accounts for c in accounts if p.id != c.id]
        if isinstance(topology, HubAndSpokeTopology):
            hub = self.account_named(topology.hub)
            spokes = [a for a in accounts if a.id != hub.id]
            pairs: list[tuple[Account, Account]] = []
            if topology.direction in ("spokes-to-hub", "both"):
                pairs += [(spoke, hub) for spoke in spokes]
            if topology.direction in ("hub-to-spokes", "both"):
                pairs += [(hub, spoke) for spoke in spokes]
            return pairs
        return [
            (self.account_named(producer), self.account_named(consumer))
            for producer, consumers in topology.edges.items()
            for consumer in consumers
        ]


def _duplicates(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({v for v in values if v in seen or seen.add(v)})


def _cross_field_problems(config: SharingConfig) -> Iterable[str]:
    for account_id in _duplicates(a.id for a in config.accounts):
        yield f"accounts: account id {account_id!r} is listed more than once"
    for name in _duplicates(a.name for a in config.accounts):
        yield f"accounts: account name {name!r} is listed more than once"
    names = {a.name for a in config.accounts}
    topology = config.topology
    if isinstance(topology, HubAndSpokeTopology) and topology.hub not in names:
        yield f"topology.hub: {topology.hub!r} is not the name of a listed account"
        return
    if isinstance(topology, EdgesTopology):
        for producer, consumers in topology.edges.items():
            if producer not in names:
                yield f"topology.edges: producer {producer!r} is not the name of a listed account"
            for consumer in consumers:
                if consumer not in names:
                    yield (
                        f"topology.edges.{producer}: consumer {consumer!r} "
                        "is not the name of a listed account"
                    )
                elif consumer == producer:
                    yield f"topology.edges.{producer}: an account cannot share with itself"
            for consumer in _duplicates(consumers):
                yield f"topology.edges.{producer}: consumer {consumer!r} is listed twice"
        if any(p not in names or c not in names for p, cs in topology.edges.items() for c in cs):
            return
    if len(config.accounts) < 2:
        yield "accounts: sharing needs at least two accounts"
        return
    for producer, consumer in config.edges():
        if not set(producer.regions) & set(consumer.regions):
            yield (
                f"topology: {producer.name} -> {consumer.name} have no region in common "
                f"({list(producer.regions)} vs {list(consumer.regions)}); "
                "lineage groups and RAM shares are regional"
            )


@dataclass(frozen=True)
class StackPlan:
    """What one (account, region) stack deploys: whom it shares with, whom it accepts from."""

    account: Account
    region: str
    consumers: tuple[str, ...]
    producers: tuple[str, ...]

    @property
    def stack_name(self) -> str:
        return f"LineageSharing-{self.account.name}-{self.region}"

    @property
    def shares(self) -> bool:
        return bool(self.consumers)

    @property
    def receives(self) -> bool:
        return bool(self.producers)


def plan_stacks(config: SharingConfig) -> list[StackPlan]:
    """One plan per (account, region); edges only hold in regions both accounts use."""
    edges = config.edges()
    plans = []
    for account in config.accounts:
        for region in account.regions:
            consumers = sorted(
                {c.id for p, c in edges if p.id == account.id and region in c.regions}
            )
            producers = sorted(
                {p.id for p, c in edges if c.id == account.id and region in p.regions}
            )
            if consumers or producers:
                plans.append(StackPlan(account, region, tuple(consumers), tuple(producers)))
    return plans


def _location(loc: Sequence[int | str], config: dict[str, Any]) -> str:
    """Turn pydantic's location into the path a user sees in the file (accounts[1].id)."""
    path = ""
    for part in loc:
        if part in ("mesh", "hub-and-spoke", "edges") and path == "topology":
            continue  # the discriminated union's tag, not a key in the file
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _describe(error: dict[str, Any], config: dict[str, Any]) -> str:
    where = _location(error["loc"], config)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key (typo?); value {error['input']!r}"
    if error["type"] == "missing":
        return f"{where}: required field is missing"
    if error["type"] == "value_error":
        return f"{where}: {message}" if error["loc"] else message
    return f"{where}: {message}; got {error['input']!r}"


def parse_config(raw: Any, source: str = "<config>") -> SharingConfig:
    """Validate already-loaded data; raise ConfigError naming every bad field."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: expected a mapping at the top level, got {type(raw).__name__}"
        )
    try:
        return SharingConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(error, raw) for error in exc.errors()]
        raise ConfigError(f"{source}: invalid configuration\n  - " + "\n  - ".join(lines)) from None


def load_config(path: str | Path) -> SharingConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(raw, source=str(path))
