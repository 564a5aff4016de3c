"""The consumer's query role in the simulated accounts: a person of staging assumes it and reads
training's lineage (DescribeContext by ARN, QueryLineage); without the grant the same reads are
refused; nobody the config does not name can assume it; and it reads only configured producers.

Both sides are evaluated as AWS does: the caller's identity policy (the synthesized role policy,
through the world's authorizer) and the producer's lineage group policy (RAM's share).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from simulation.estate import SimulatedEstate
from simulation.rollout import deploy_all
from stacks.lineage_sharing_stack import query_role_name
from tests.simulation.scenario_configs import (
    NAMES,
    OUTSIDER,
    PRODUCTION,
    REGION,
    STAGING,
    TRAINING,
    share_outsiders_lineage,
)

QUERY_ROLE = f"arn:aws:iam::{STAGING}:role/{query_role_name(REGION)}"
# Someone in staging: its own account's policies let it assume roles (the operator's fallback).
DATA_SCIENTIST = f"arn:aws:iam::{STAGING}:role/DataScientist"
BOOTSTRAP_CONTEXT = "lineage-sharing-bootstrap"  # config/example.yaml bootstraps every producer


def context_arn(account: str, name: str = BOOTSTRAP_CONTEXT) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:context/{name}"


@pytest.fixture(scope="module")
def shared_mesh(mesh3):
    """The example's mesh, rolled out once for this module (its tests only add to it)."""
    estate = SimulatedEstate.start([TRAINING, STAGING, PRODUCTION, OUTSIDER], NAMES)
    assert deploy_all(estate.rollout, list(mesh3.values())) == []
    estate.rollout.advance(timedelta(hours=1))
    return estate


def assume_query_role(estate, principal: str = DATA_SCIENTIST, account: str = STAGING):
    sts = estate.world.client("sts", account=account, region=REGION, principal_arn=principal)
    return sts.assume_role(RoleArn=QUERY_ROLE, RoleSessionName="lineage-review")["Credentials"]


def test_a_person_reads_the_producers_lineage_through_the_query_role(shared_mesh):
    credentials = assume_query_role(shared_mesh)
    world = shared_mesh.world
    identity = world.client_for("sts", credentials=credentials, region=REGION)
    assert identity.get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{STAGING}:assumed-role/{query_role_name(REGION)}/lineage-review"
    )
    sagemaker = world.client_for("sagemaker", credentials=credentials, region=REGION)

    for producer in (TRAINING, PRODUCTION):
        described = sagemaker.describe_context(ContextName=context_arn(producer))
        assert described["ContextArn"] == context_arn(producer)
        assert described["LineageGroupArn"].split(":")[4] == producer
        lineage = sagemaker.query_lineage(
            StartArns=[context_arn(producer)], Direction="Both", IncludeEdges=True, MaxDepth=1
        )
        assert [vertex["Arn"] for vertex in lineage["Vertices"]] == [context_arn(producer)]

    reads = [
        (request.action, result.reason)
        for request, result in shared_mesh.recorder.records
        if request.principal_arn == QUERY_ROLE
    ]
    assert {action for action, _ in reads} == {
        "sagemaker:DescribeContext",
        "sagemaker:QueryLineage",
    }
    # Allowed by the role's own statements, not by the operator's fallback.
    assert all(reason.startswith("allowed by statement") for _, reason in reads)


def test_without_the_grant_the_same_reads_are_refused(shared_mesh):
    """RAM's share alone is not enough: an identity without the identity-side permission is
    refused, although the producer's lineage group policy names its account."""
    no_grant = f"arn:aws:iam::{STAGING}:role/NoLineageGrant"
    shared_mesh.evaluator.add_role(no_grant, [])  # a role of staging's, granted nothing
    sagemaker = shared_mesh.world.client(
        "sagemaker", account=STAGING, region=REGION, principal_arn=no_grant
    )

    with pytest.raises(ClientError) as described:
        sagemaker.describe_context(ContextName=context_arn(TRAINING))
    with pytest.raises(ClientError) as queried:
        sagemaker.query_lineage(StartArns=[context_arn(TRAINING)], MaxDepth=1)

    for raised, action in [(described, "DescribeContext"), (queried, "QueryLineage")]:
        error = raised.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert f"sagemaker:{action}" in error["Message"]
        assert "no identity-based policy allows" in error["Message"]


def test_only_the_principals_the_config_names_can_assume_it(shared_mesh):
    outsider = f"arn:aws:iam::{OUTSIDER}:role/Curious"
    with pytest.raises(ClientError) as raised:
        assume_query_role(shared_mesh, outsider, OUTSIDER)
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    # A principal of staging may (the config trusts the account, which delegates to its IAM).
    assert assume_query_role(shared_mesh)["AccessKeyId"].startswith("ASIA")


def test_it_reads_only_configured_producers_even_when_more_is_shared(shared_mesh):
    """Someone in staging accepts an unconfigured account's lineage by hand: RAM grants the
    resource side, yet the query role's identity policy names only the configured producers."""
    world = shared_mesh.world
    outsider_context = share_outsiders_lineage(shared_mesh, STAGING, "outsider-pipeline")
    staging_ram = shared_mesh.operator_client("ram", STAGING, REGION)
    [invitation] = [
        i
        for i in staging_ram.get_resource_share_invitations()["resourceShareInvitations"]
        if i["senderAccountId"] == OUTSIDER
    ]
    staging_ram.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )
    # The share works: the operator (whose own policies allow everything) reads it.
    operator = shared_mesh.operator_client("sagemaker", STAGING, REGION)
    assert operator.describe_context(ContextName=outsider_context)["ContextArn"] == outsider_context

    sagemaker = world.client_for(
        "sagemaker", credentials=assume_query_role(shared_mesh), region=REGION
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        sagemaker.describe_context(ContextName=outsider_context)


def test_association_writes_stay_off_unless_the_config_enables_them(shared_mesh):
    sagemaker = shared_mesh.world.client_for(
        "sagemaker", credentials=assume_query_role(shared_mesh), region=REGION
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        sagemaker.add_association(
            SourceArn=context_arn(TRAINING), DestinationArn=context_arn(PRODUCTION)
        )
