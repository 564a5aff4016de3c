"""Read a synthesized cloud assembly (cdk.out) back into what each stack deploys.

The deploy plan, the status checks, the graph and the offline simulation all start from the
templates that `cdk synth` wrote, never from the config alone, so they see what would really be
deployed. `load_inputs` also proves the cloud assembly was synthesized from the config given
(see config_record), so no command reports on stacks another config produced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from config.model import ConfigError, SharingConfig, load_config
from config.rollout_plan import is_rollout_stack
from lineage_sharing.config_record import (
    ConfigRecord,
    ConfigRecordError,
    matching_record,
    read_config_records,
)

SHARE_RESOURCE_TYPE = "Custom::LineageGroupShare"
# The management account's stack in organization mode (stacks/organization_sharing_stack.py).
ORGANIZATION_SHARING_RESOURCE_TYPE = "Custom::RamSharingWithOrganization"
SHARE_ON_EVENT_HANDLER = "share_manager.handler.on_event"
SHARE_IS_COMPLETE_HANDLER = "share_manager.handler.is_complete"
SHARE_RECONCILE_HANDLER = "share_manager.handler.reconcile"
ACCEPTOR_HANDLER = "invitation_acceptor.handler.handle"
ORGANIZATION_SHARING_HANDLER = "organization_sharing.handler.on_event"
ACCEPTOR_ALLOW_LIST_PARAMETERS = "ALLOWED_PRODUCERS_PARAMETERS"
QUERY_ROLE_PREFIX = "LineageSharingQuery-"  # stacks/lineage_sharing_stack.py names it


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    account: str
    region: str
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def _of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def _function_with_handler(self, handler: str) -> tuple[str, dict[str, Any]] | None:
        for logical_id, function in self._of_type("AWS::Lambda::Function").items():
            if function["Properties"].get("Handler") == handler:
                return logical_id, function
        return None

    # ------------------------------------------------------------------ producer part
    def _custom_resource(self, resource_type: str) -> tuple[str, dict[str, Any]] | None:
        """(logical id, properties as CloudFormation passes them to the handler) of the one
        custom resource of that type, if the stack has it."""
        found = self._of_type(resource_type)
        if not found:
            return None
        ((logical_id, resource),) = found.items()
        properties = {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"}
        return logical_id, properties

    @cached_property
    def share(self) -> tuple[str, dict[str, Any]] | None:
        """(logical id, properties) of the lineage group share."""
        return self._custom_resource(SHARE_RESOURCE_TYPE)

    @property
    def enables_organization_sharing(self) -> bool:
        """The management account's stack: RAM sharing with AWS Organizations."""
        return bool(self._of_type(ORGANIZATION_SHARING_RESOURCE_TYPE))

    @property
    def organization_sharing(self) -> tuple[str, dict[str, Any]] | None:
        """(logical id, properties) of the management stack's custom resource, if this is it."""
        return self._custom_resource(ORGANIZATION_SHARING_RESOURCE_TYPE)

    @property
    def shares_with(self) -> tuple[str, ...]:
        return tuple(self.share[1]["Principals"]) if self.share else ()

    @property
    def share_name(self) -> str | None:
        return self.share[1]["ShareName"] if self.share else None

    @property
    def bootstraps_lineage_group(self) -> bool:
        """The share manager creates a marker context when the account has no lineage group."""
        return bool(self.share and self.share[1].get("BootstrapLineageGroup") == "true")

    def function_logical_id(self, handler: str) -> str | None:
        found = self._function_with_handler(handler)
        return found[0] if found else None

    def handler_role_logical_id(self, handler: str) -> str | None:
        found = self._function_with_handler(handler)
        if found is None:
            return None
        role = found[1]["Properties"]["Role"]
        return role["Fn::GetAtt"][0]

    @cached_property
    def provider_polling(self) -> tuple[int, int]:
        """(seconds between is_complete polls, max polls) of the Provider's waiter."""
        for machine in self._of_type("AWS::StepFunctions::StateMachine").values():
            definition = "".join(
                part
                for part in machine["Properties"]["DefinitionString"]["Fn::Join"][1]
                if isinstance(part, str)
            )
            interval = re.search(r'"IntervalSeconds":(\d+)', definition)
            attempts = re.search(r'"MaxAttempts":(\d+)', definition)
            if interval and attempts:
                return int(interval.group(1)), int(attempts.group(1))
        raise ValueError(f"{self.name}: no Provider waiter state machine in the template")

    # ------------------------------------------------------------------ consumer part
    @cached_property
    def accepts_from(self) -> tuple[str, ...]:
        """The producers of the acceptor's allow-list: the SSM parameters its environment names."""
        names = self.acceptor_environment.get(ACCEPTOR_ALLOW_LIST_PARAMETERS, "")
        parameters = self.ssm_parameters
        return tuple(
            sorted(
                account
                for name in names.split(",")
                if name
                for account in parameters[name][1].split(",")
            )
        )

    @cached_property
    def ssm_parameters(self) -> dict[str, tuple[str, str]]:
        """Name -> (type, value) of every AWS::SSM::Parameter, as the template writes them."""
        parameters = {}
        for logical_id, resource in self._of_type("AWS::SSM::Parameter").items():
            properties = resource["Properties"]
            name, value = properties.get("Name"), properties["Value"]
            if not (isinstance(name, str) and isinstance(value, str)):
                raise ValueError(f"{self.name}: {logical_id} has no literal Name and Value")
            parameters[name] = (properties["Type"], value)
        return parameters

    @cached_property
    def query_role_name(self) -> str | None:
        """The consumer's query role (accounts[].query_role), when the config opted in."""
        for role in self._of_type("AWS::IAM::Role").values():
            name = role["Properties"].get("RoleName")
            if isinstance(name, str) and name.startswith(QUERY_ROLE_PREFIX):
                return name
        return None

    @property
    def acceptor_environment(self) -> dict[str, str]:
        found = self._function_with_handler(ACCEPTOR_HANDLER)
        return dict(found[1]["Properties"]["Environment"]["Variables"]) if found else {}

    def _rules_targeting(self, handler: str) -> list[dict[str, Any]]:
        found = self._function_with_handler(handler)
        if found is None:
            return []
        target = {"Fn::GetAtt": [found[0], "Arn"]}
        return [
            rule["Properties"]
            for rule in self._of_type("AWS::Events::Rule").values()
            if rule["Properties"].get("State") == "ENABLED"
            and any(t["Arn"] == target for t in rule["Properties"].get("Targets", []))
        ]

    @cached_property
    def acceptor_event_patterns(self) -> tuple[dict[str, Any], ...]:
        """EventBridge patterns of the enabled rules that invoke the acceptor."""
        return tuple(
            rule["EventPattern"]
            for rule in self._rules_targeting(ACCEPTOR_HANDLER)
            if "EventPattern" in rule
        )

    @cached_property
    def acceptor_sweep_interval(self) -> timedelta | None:
        """The acceptor's schedule, from its rule's `rate(...)` expression."""
        for rule in self._rules_targeting(ACCEPTOR_HANDLER):
            if "ScheduleExpression" in rule:
                return parse_rate_expression(rule["ScheduleExpression"])
        return None

    # ------------------------------------------------------------------ scheduled reconcile
    @cached_property
    def reconcile_schedule(self) -> tuple[timedelta, Any] | None:
        """(rate, rule input as in the template) of the share's reconcile schedule."""
        for rule in self._rules_targeting(SHARE_RECONCILE_HANDLER):
            if "ScheduleExpression" in rule:
                (target,) = rule["Targets"]
                return parse_rate_expression(rule["ScheduleExpression"]), target["Input"]
        return None

    @cached_property
    def reconcile_event_rules(self) -> tuple[tuple[dict[str, Any], Any], ...]:
        """(EventBridge pattern, rule input as in the template) of each enabled rule that runs
        the share's reconciliation on events."""
        return tuple(
            (rule["EventPattern"], target["Input"])
            for rule in self._rules_targeting(SHARE_RECONCILE_HANDLER)
            if "EventPattern" in rule
            for target in rule["Targets"]
        )


_RATE_UNITS = {"minute": "minutes", "hour": "hours", "day": "days"}


def parse_rate_expression(expression: str) -> timedelta:
    """EventBridge `rate(5 minutes)` / `rate(1 hour)` as a timedelta."""
    match = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression)
    if match is None:
        raise ValueError(f"not an EventBridge rate expression: {expression!r}")
    return timedelta(**{_RATE_UNITS[match.group(2)]: int(match.group(1))})


def read_cloud_assembly(cdk_out: Path) -> list[SynthesizedStack]:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = []
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact["type"] != "aws:cloudformation:stack" or is_rollout_stack(name):
            continue
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        stacks.append(SynthesizedStack(name, account, region, template))
    return stacks


def directed_pairs(
    stacks: Iterable[SynthesizedStack],
) -> list[tuple[SynthesizedStack, SynthesizedStack]]:
    """(producer stack, consumer stack) for every consumer a share reaches that has a stack.

    An account-id principal reaches that account. An organization or OU principal
    (organization mode) reaches every other stack in the region whose account the share does
    not list by id: accounts outside the organization are listed by id (and invited), the rest
    of the config's accounts are in it, so the OU is how the share reaches them.
    """
    # The management account's stack shares nothing; its account may have a sharing stack too.
    by_location = {(s.account, s.region): s for s in stacks if not s.enables_organization_sharing}
    pairs = []
    for producer in by_location.values():
        listed = {p for p in producer.shares_with if p.isdigit()}
        reached = set(listed)
        if any(not p.isdigit() for p in producer.shares_with):
            reached |= {
                account
                for account, region in by_location
                if region == producer.region and account != producer.account
            }
        for consumer_account in sorted(reached):
            consumer = by_location.get((consumer_account, producer.region))
            if consumer is not None:
                pairs.append((producer, consumer))
    return sorted(pairs, key=lambda pair: (pair[0].name, pair[1].name))


def pair_principal(producer: SynthesizedStack, consumer: SynthesizedStack) -> str:
    """The principal of the producer's share that reaches the consumer: its account id, or the
    organization/OU ARN(s) (organization mode; the first when there are several)."""
    if consumer.account in producer.shares_with:
        return consumer.account
    organizational = [p for p in producer.shares_with if not p.isdigit()]
    return organizational[0] if organizational else consumer.account


class InputError(Exception):
    """The command cannot start: bad config, no cloud assembly, or one from another config."""


@dataclass(frozen=True)
class AssemblyInputs:
    """A validated config and the cloud assembly proven to be synthesized from it."""

    config: SharingConfig
    config_path: str  # as the user gave it (or as cdk.out recorded it)
    record: ConfigRecord
    cdk_out: Path
    stacks: list[SynthesizedStack]

    @property
    def names(self) -> dict[str, str]:
        """account id -> friendly name from the config (and the organization's management
        account in organization mode, which the config need not list)."""
        names = {account.id: account.name for account in self.config.accounts}
        management = self.config.sharing.management_account
        if management is not None:
            names.setdefault(management, "management")
        return names

    @property
    def deploy_config_path(self) -> str:
        """The path to pass as `-c config=` in the CDK app's folder: the one cdk.out recorded."""
        return self.record.path or self.config_path

    def describe(self) -> str:
        return (
            f"config: {self.config_path} (sha256 {self.record.sha256[:12]}), "
            f"cloud assembly: {self.cdk_out}"
        )


def load_inputs(config_path: str | None, cdk_out: Path) -> AssemblyInputs:
    """Read cdk.out and the config; refuse a cloud assembly synthesized from another config.

    Without `config_path`, the config cdk.out was synthesized from is used (and must still be
    unchanged).
    """
    if not (cdk_out / "manifest.json").exists():
        synth = f"npx cdk synth -c config={config_path}" if config_path else "make synth"
        raise InputError(f"{cdk_out} has no cloud assembly; run `{synth}` first")
    try:
        records = read_config_records(cdk_out)
        if config_path is None:
            config_path = _recorded_config_path(records)
        config = load_config(config_path)
        record = matching_record(records, config, config_path)
    except (ConfigError, ConfigRecordError) as error:
        raise InputError(str(error)) from None
    return AssemblyInputs(config, config_path, record, cdk_out, read_cloud_assembly(cdk_out))


def _recorded_config_path(records: dict[str, ConfigRecord | None]) -> str:
    recorded = {record for record in records.values() if record is not None}
    paths = {record.path for record in recorded if record.path}
    if len(paths) != 1:
        raise ConfigRecordError(
            "cdk.out does not name the one config it was synthesized from: pass --config"
        )
    (record,) = (r for r in recorded if r.path)
    path = record.path
    assert path is not None
    if Path(path).exists():
        return path
    if record.absolute_path and Path(record.absolute_path).exists():
        return record.absolute_path
    raise ConfigRecordError(
        f"cdk.out was synthesized from {path}, which is not there from here: pass --config"
    )
