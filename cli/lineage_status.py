"""Per producer→consumer pair: is the share there, was the invitation accepted, and can the
consumer really read the producer's lineage?

The checks are the seed notebook's, made systematic: in the producer account find the share
by name and one lineage entity to probe; in the consumer account look at the invitation and
call `DescribeContext` and `QueryLineage` on the producer's context ARN. The same code runs
against the offline simulation (clients from `simulation.world.World.client`) and, later,
against real accounts (clients from assumed roles): only the client factory differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from cli.cloud_assembly import SynthesizedStack
from cli.text_table import render_table

# (service, account, region) -> boto3 client acting in that account
ClientFactory = Callable[[str, str, str], Any]


@dataclass(frozen=True)
class PairStatus:
    producer: str
    consumer: str
    region: str
    share_arn: str | None
    invitation: str  # the consumer's latest invitation status, or why there is none
    readable: bool
    detail: str  # what the read returned, or the error that stopped it


def directed_pairs(
    stacks: Iterable[SynthesizedStack],
) -> list[tuple[SynthesizedStack, SynthesizedStack]]:
    """(producer stack, consumer stack) for every share principal that has a stack."""
    by_location = {(s.account, s.region): s for s in stacks}
    pairs = []
    for producer in by_location.values():
        for consumer_account in producer.shares_with:
            consumer = by_location.get((consumer_account, producer.region))
            if consumer is not None:
                pairs.append((producer, consumer))
    return sorted(pairs, key=lambda pair: (pair[0].name, pair[1].name))


def pair_status(
    producer: SynthesizedStack,
    consumer: SynthesizedStack,
    clients: ClientFactory,
    names: Mapping[str, str],
) -> PairStatus:
    region = producer.region

    def status(share_arn: str | None, invitation: str, readable: bool, detail: str):
        return PairStatus(
            _label(producer.account, names),
            _label(consumer.account, names),
            region,
            share_arn,
            invitation,
            readable,
            detail,
        )

    share_name = producer.share[1]["ShareName"] if producer.share else None
    if share_name is None:
        return status(None, "-", False, "producer stack has no lineage group share")
    producer_ram = clients("ram", producer.account, region)
    share_arn = _active_share_arn(producer_ram, share_name)
    if share_arn is None:
        return status(None, "-", False, f"no ACTIVE resource share named {share_name!r}")
    invitation = _invitation_status(clients("ram", consumer.account, region), share_arn)
    probe = _probe_entity_arn(clients("sagemaker", producer.account, region))
    if probe is None:
        return status(share_arn, invitation, False, "producer has no lineage context to probe")
    consumer_sagemaker = clients("sagemaker", consumer.account, region)
    try:
        context = consumer_sagemaker.describe_context(ContextName=probe)
        lineage = consumer_sagemaker.query_lineage(
            StartArns=[probe], Direction="Both", IncludeEdges=True, MaxDepth=1
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        return status(share_arn, invitation, False, f"{code} on {probe}")
    vertices = len(lineage.get("Vertices", []))
    return status(
        share_arn,
        invitation,
        True,
        f"DescribeContext {context['ContextName']}; QueryLineage {vertices} vertices",
    )


def _active_share_arn(ram: Any, share_name: str) -> str | None:
    for page in ram.get_paginator("get_resource_shares").paginate(
        resourceOwner="SELF", name=share_name, resourceShareStatus="ACTIVE"
    ):
        for share in page.get("resourceShares", []):
            return share["resourceShareArn"]
    return None


def _invitation_status(ram: Any, share_arn: str) -> str:
    invitations = [
        invitation
        for page in ram.get_paginator("get_resource_share_invitations").paginate(
            resourceShareArns=[share_arn]
        )
        for invitation in page.get("resourceShareInvitations", [])
    ]
    if not invitations:
        return "none"
    latest = max(invitations, key=lambda invitation: invitation["invitationTimestamp"])
    return latest["status"]


def _probe_entity_arn(sagemaker: Any) -> str | None:
    """One of the producer's own contexts (ListContexts lists only the caller's account)."""
    page = sagemaker.list_contexts(SortBy="CreationTime", SortOrder="Ascending", MaxResults=1)
    contexts = page.get("ContextSummaries", [])
    return contexts[0]["ContextArn"] if contexts else None


def _label(account: str, names: Mapping[str, str]) -> str:
    return f"{names[account]} ({account})" if account in names else account


def render_pairs(statuses: Iterable[PairStatus]) -> str:
    header = ("producer", "consumer", "region", "share", "invitation", "can read lineage")
    rows = [
        (
            s.producer,
            s.consumer,
            s.region,
            s.share_arn.rsplit("/", 1)[-1] if s.share_arn else "-",
            s.invitation,
            ("yes: " if s.readable else "NO: ") + s.detail,
        )
        for s in statuses
    ]
    return render_table(header, rows)
