"""The optional `alarm_notifications:` section: where every alarm of every stack notifies.

Either a topic per stack that this app creates (KMS-encrypted with a key of its own, TLS-only,
with email subscriptions), or existing topics by ARN, one per region the stacks use: a
CloudWatch alarm notifies only a topic in its own region, so one ARN cannot serve two regions.
Every alarm sends both ALARM and OK (the all-clear) to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MAX_EMAILS = 10
# arn:<partition>:sns:<region>:<account>:<topic>. A standard topic's name: letters, digits,
# '-' and '_', at most 256 (SNS CreateTopic). FIFO topics end in '.fifo' and are refused by the
# pattern: CloudWatch alarm actions publish to standard topics (Inference: the alarm action
# documentation names only standard topics).
TOPIC_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z]{2}(-[a-z]+)+-\d):"
    r"(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,256})$"
)
# Deliberately plain: SNS checks the address itself when it sends the confirmation; this only
# catches what is obviously not one address (a list, a name, a missing domain).
EMAIL = re.compile(r"^[^@\s,;<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")

WHY_EMAILS = (
    f"at most {MAX_EMAILS}: every address gets a confirmation email from the topic of every "
    "stack (one per account and region) and receives nothing until it confirms; for more people "
    "use a mailing list, for a fleet an existing topic (topic_arns)"
)
WHY_TOPIC_REGION = (
    "a CloudWatch alarm notifies only an SNS topic in its own region, so each region the stacks "
    "deploy to needs its own topic"
)


def _email(value: str) -> str:
    if not EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not one email address (e.g. ml-oncall@example.com)")
    return value


def _topic_arn(value: str) -> str:
    if not TOPIC_ARN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a standard SNS topic ARN "
            "(arn:aws:sns:<region>:<12-digit account>:<topic name>)"
        )
    return value


def json_schema_pattern(pattern: re.Pattern[str]) -> dict[str, str]:
    """The pattern for the JSON schema (ECMA-262 has no `(?P<name>` groups)."""
    return {"pattern": re.sub(r"\(\?P<\w+>", "(", pattern.pattern)}


Email = Annotated[str, AfterValidator(_email), Field(json_schema_extra=json_schema_pattern(EMAIL))]
TopicArn = Annotated[
    str, AfterValidator(_topic_arn), Field(json_schema_extra=json_schema_pattern(TOPIC_ARN))
]


class AlarmNotifications(BaseModel):
    """Exactly one of `emails` (a topic per stack, created) or `topic_arns` (existing)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    emails: tuple[Email, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_EMAILS,
        description="Create a KMS-encrypted topic in every stack with these email subscriptions; "
        f"{WHY_EMAILS}.",
    )
    topic_arns: tuple[TopicArn, ...] | None = Field(
        default=None,
        min_length=1,
        description="Existing standard SNS topics, exactly one in each region the stacks deploy "
        f"to: {WHY_TOPIC_REGION}. A topic in another account must allow cloudwatch.amazonaws.com "
        "to publish (README: Alarm notifications).",
    )

    @model_validator(mode="before")
    @classmethod
    def _lists_to_tuples(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> AlarmNotifications:
        given = [name for name in ("emails", "topic_arns") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of emails (a topic per stack is created) or topic_arns "
                f"(existing topics), got {given or 'neither'}"
            )
        return self

    def topic_arn_in(self, region: str) -> str | None:
        """The existing topic for a stack in `region`; None when the stack creates its own."""
        for arn in self.topic_arns or ():
            if TOPIC_ARN.fullmatch(arn)["region"] == region:  # type: ignore[index]
                return arn
        return None


def topic_region_problems(
    topic_arns: Iterable[str],
    stack_regions: Mapping[str, Iterable[str]],
    partition_of: Callable[[str], str],
) -> Iterable[str]:
    """One existing topic per region that has stacks, in that region's partition.

    `topic_arns` as written (malformed ones are skipped: their field error says why);
    `stack_regions`: region -> names of the accounts with a stack there.
    """
    problems = []
    by_region: dict[str, list[str]] = {}
    malformed = False
    for index, arn in enumerate(topic_arns):
        match = TOPIC_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None:
            malformed = True
            continue
        region, partition = match["region"], match["partition"]
        path = f"alarm_notifications.topic_arns[{index}]"
        by_region.setdefault(region, []).append(arn)
        if region not in stack_regions:
            problems.append(
                f"{path}: {arn!r} is in {region}, where no stack is deployed "
                f"(stacks are in {', '.join(sorted(stack_regions)) or 'no region'}): remove it "
                "or fix its region"
            )
        elif partition != partition_of(region):
            problems.append(
                f"{path}: {arn!r} names partition {partition!r}, but {region} is in "
                f"{partition_of(region)!r}"
            )
    for region, arns in sorted(by_region.items()):
        if len(arns) > 1:
            problems.append(
                f"alarm_notifications.topic_arns: {len(arns)} topics in {region} ({arns}): give "
                "exactly one per region"
            )
    for region, accounts in sorted(stack_regions.items()):
        if region not in by_region and not malformed:  # a malformed ARN may be that region's
            problems.append(
                f"alarm_notifications.topic_arns: no topic in {region}, where "
                f"{', '.join(sorted(accounts))} deploy a stack; {WHY_TOPIC_REGION}"
            )
    return problems
