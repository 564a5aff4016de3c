"""Read a synthesized cloud assembly (cdk.out) back into what each stack deploys.

The rollout plan, the offline simulation and (later) the status command all start from the
templates that `cdk synth` wrote, never from the config alone, so they see what would
really be deployed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

SHARE_RESOURCE_TYPE = "Custom::LineageGroupShare"
SHARE_ON_EVENT_HANDLER = "share_manager.handler.on_event"
SHARE_IS_COMPLETE_HANDLER = "share_manager.handler.is_complete"
SHARE_RECONCILE_HANDLER = "share_manager.handler.reconcile"
ACCEPTOR_HANDLER = "invitation_acceptor.handler.handle"
ACCEPTOR_ALLOW_LIST_PARAMETERS = "ALLOWED_PRODUCERS_PARAMETERS"


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
    @cached_property
    def share(self) -> tuple[str, dict[str, Any]] | None:
        """(logical id, properties as CloudFormation passes them to the handler)."""
        shares = self._of_type(SHARE_RESOURCE_TYPE)
        if not shares:
            return None
        ((logical_id, resource),) = shares.items()
        properties = {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"}
        return logical_id, properties

    @property
    def shares_with(self) -> tuple[str, ...]:
        return tuple(self.share[1]["Principals"]) if self.share else ()

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
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        stacks.append(SynthesizedStack(name, account, region, template))
    return stacks


@dataclass(frozen=True)
class CommandInputs:
    stacks: list[SynthesizedStack]
    names: dict[str, str]  # account id -> friendly name from the config


REPO_ROOT = Path(__file__).resolve().parent.parent


def command_inputs(description: str, argv: list[str] | None) -> CommandInputs | None:
    """Parse `--config` and `--cdk-out` for a CLI command; None (after saying why) on error.

    The stacks come from the synthesized cloud assembly; the config only names the accounts.
    """
    from config.model import ConfigError, load_config

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", default=str(REPO_ROOT / "config" / "example.yaml"))
    parser.add_argument("--cdk-out", default=str(REPO_ROOT / "cdk.out"))
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    cdk_out = Path(args.cdk_out)
    if not (cdk_out / "manifest.json").exists():
        print(
            f"error: {cdk_out} has no cloud assembly; run `make synth` (or `npx cdk synth`) first",
            file=sys.stderr,
        )
        return None
    names = {account.id: account.name for account in config.accounts}
    return CommandInputs(read_cloud_assembly(cdk_out), names)
