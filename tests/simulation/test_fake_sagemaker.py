"""The fake SageMaker lineage service, driven through real boto3 clients."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from simulation.authorization import AuthorizationRequest, AuthorizationResult
from simulation.world import World

PRODUCER, CONSUMER, STRANGER = "111111111111", "222222222222", "333333333333"
REGION = "eu-west-1"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
GROUP_NAME = "sagemaker-default-lineage-group"


@dataclass
class RecordingAuthorizer:
    denied_actions: set[str] = field(default_factory=set)
    requests: list[AuthorizationRequest] = field(default_factory=list)

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        self.requests.append(request)
        return AuthorizationResult(request.action not in self.denied_actions, "test policy")


@pytest.fixture
def world() -> World:
    world = World(start=START)
    for account in (PRODUCER, CONSUMER, STRANGER):
        world.add_account(account)
    return world


def sagemaker(world: World, account: str, region: str = REGION):
    return world.client("sagemaker", account=account, region=region)


def create_context(world: World, account: str, name: str) -> str:
    return sagemaker(world, account).create_context(
        ContextName=name, ContextType="Endpoint", Source={"SourceUri": f"urn:{name}"}
    )["ContextArn"]


def invite_consumer(world: World) -> tuple[str, str]:
    """Share the producer's lineage group with the consumer; (share ARN, invitation ARN)."""
    ram = world.client("ram", account=PRODUCER, region=REGION)
    share = ram.create_resource_share(
        name="lineage",
        resourceArns=[world.lineage_group_arn(PRODUCER, REGION)],
        principals=[CONSUMER],
    )["resourceShare"]["resourceShareArn"]
    consumer_ram = world.client("ram", account=CONSUMER, region=REGION)
    (invitation,) = consumer_ram.get_resource_share_invitations()["resourceShareInvitations"]
    return share, invitation["resourceShareInvitationArn"]


def accept(world: World, invitation_arn: str) -> None:
    world.client("ram", account=CONSUMER, region=REGION).accept_resource_share_invitation(
        resourceShareInvitationArn=invitation_arn
    )


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return raised.value.response["Error"]["Code"]


# ------------------------------------------------------------------ lineage groups


def test_the_default_lineage_group_appears_with_the_first_lineage_entity(world):
    client = sagemaker(world, PRODUCER)
    assert client.list_lineage_groups()["LineageGroupSummaries"] == []
    assert world.lineage_group_arn(PRODUCER, REGION) is None

    context_arn = create_context(world, PRODUCER, "Bootstrap-Marker")

    group_arn = f"arn:aws:sagemaker:{REGION}:{PRODUCER}:lineage-group/{GROUP_NAME}"
    assert context_arn == f"arn:aws:sagemaker:{REGION}:{PRODUCER}:context/bootstrap-marker"
    assert world.lineage_group_arn(PRODUCER, REGION) == group_arn
    (summary,) = client.list_lineage_groups()["LineageGroupSummaries"]
    assert (summary["LineageGroupArn"], summary["LineageGroupName"]) == (group_arn, GROUP_NAME)
    assert (
        client.describe_lineage_group(LineageGroupName=GROUP_NAME)["LineageGroupArn"] == group_arn
    )
    assert world.lineage_group_arn(PRODUCER, "us-east-1") is None


def test_contexts_are_listed_for_their_own_account_only(world):
    first = create_context(world, PRODUCER, "first")
    world.clock.advance(timedelta(seconds=1))
    second = create_context(world, PRODUCER, "second")
    create_context(world, CONSUMER, "elsewhere")
    client = sagemaker(world, PRODUCER)

    newest_first = client.list_contexts()["ContextSummaries"]
    oldest = client.list_contexts(SortBy="CreationTime", SortOrder="Ascending", MaxResults=1)

    assert [c["ContextArn"] for c in newest_first] == [second, first]
    assert [c["ContextArn"] for c in oldest["ContextSummaries"]] == [first]
    assert "NextToken" in oldest


def test_creating_an_existing_context_is_a_validation_error_not_worded_already_exists(world):
    create_context(world, PRODUCER, "marker")

    with pytest.raises(ClientError) as raised:
        create_context(world, PRODUCER, "Marker")

    assert error_code(raised) == "ValidationException"
    # SageMaker's wording changed over time: only the code and a DescribeContext are reliable.
    assert "already exist" not in raised.value.response["Error"]["Message"].lower()
    create_context(world, CONSUMER, "marker")  # names are per account


def test_the_default_group_can_be_made_to_appear_after_a_delay(world):
    world.sagemaker.lineage_group_delay = timedelta(minutes=1)
    create_context(world, PRODUCER, "marker")

    assert world.lineage_group_arn(PRODUCER, REGION) is None
    world.clock.advance(timedelta(minutes=1))
    assert world.lineage_group_arn(PRODUCER, REGION) is not None


def test_shared_groups_are_listed_next_to_the_callers_own_after_accepting(world):
    create_context(world, PRODUCER, "marker")
    _, invitation_arn = invite_consumer(world)
    world.clock.advance(timedelta(minutes=1))
    create_context(world, CONSUMER, "own")
    client = sagemaker(world, CONSUMER)
    assert [
        g["LineageGroupArn"] for g in client.list_lineage_groups()["LineageGroupSummaries"]
    ] == [world.lineage_group_arn(CONSUMER, REGION)]

    accept(world, invitation_arn)

    first = client.list_lineage_groups(MaxResults=1)
    second = client.list_lineage_groups(MaxResults=1, NextToken=first["NextToken"])
    listed = [
        g["LineageGroupArn"]
        for g in first["LineageGroupSummaries"] + second["LineageGroupSummaries"]
    ]
    assert listed == [
        world.lineage_group_arn(CONSUMER, REGION),
        world.lineage_group_arn(PRODUCER, REGION),
    ]
    assert "NextToken" not in second
    ascending = client.list_lineage_groups(SortOrder="Ascending")["LineageGroupSummaries"]
    assert [group["LineageGroupArn"] for group in ascending] == [
        world.lineage_group_arn(PRODUCER, REGION),
        world.lineage_group_arn(CONSUMER, REGION),
    ]


def test_lineage_groups_filter_on_creation_time(world):
    create_context(world, PRODUCER, "marker")
    client = sagemaker(world, PRODUCER)

    before = client.list_lineage_groups(CreatedBefore=START + timedelta(seconds=1))
    after = client.list_lineage_groups(CreatedAfter=START + timedelta(seconds=1))

    assert len(before["LineageGroupSummaries"]) == 1
    assert after["LineageGroupSummaries"] == []


def test_the_lineage_group_policy_names_the_accepted_principals(world):
    create_context(world, PRODUCER, "marker")
    client = sagemaker(world, PRODUCER)
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.get_lineage_group_policy(LineageGroupName=GROUP_NAME)
    _, invitation_arn = invite_consumer(world)
    accept(world, invitation_arn)

    response = client.get_lineage_group_policy(
        LineageGroupName=world.lineage_group_arn(PRODUCER, REGION)
    )

    policy = json.loads(response["ResourcePolicy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": [CONSUMER]}
    assert "sagemaker:DescribeContext" in statement["Action"]
    assert "sagemaker:QueryLineage" in statement["Action"]


# ------------------------------------------------------------------ cross-account reads


def test_a_consumer_reads_producer_entities_by_arn_only_after_accepting(world):
    context_arn = create_context(world, PRODUCER, "model-endpoint")
    _, invitation_arn = invite_consumer(world)
    consumer = sagemaker(world, CONSUMER)

    with pytest.raises(ClientError) as before:
        consumer.describe_context(ContextName=context_arn)
    accept(world, invitation_arn)
    described = consumer.describe_context(ContextName=context_arn)

    assert error_code(before) == "AccessDeniedException"
    assert before.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        "because no resource-based policy allows the sagemaker:DescribeContext action"
        in (before.value.response["Error"]["Message"])
    )
    assert described["ContextArn"] == context_arn
    assert described["ContextName"] == "model-endpoint"
    assert described["LineageGroupArn"] == world.lineage_group_arn(PRODUCER, REGION)


def test_a_bare_name_resolves_in_the_callers_own_account(world):
    create_context(world, PRODUCER, "model-endpoint")
    _, invitation_arn = invite_consumer(world)
    accept(world, invitation_arn)
    consumer = sagemaker(world, CONSUMER)

    with pytest.raises(consumer.exceptions.ResourceNotFound):
        consumer.describe_context(ContextName="model-endpoint")
    missing = f"arn:aws:sagemaker:{REGION}:{PRODUCER}:context/never-created"
    with pytest.raises(consumer.exceptions.ResourceNotFound):
        consumer.describe_context(ContextName=missing)


def test_access_needs_the_share_in_the_same_region_and_ends_with_the_association(world):
    context_arn = create_context(world, PRODUCER, "model-endpoint")
    share_arn, invitation_arn = invite_consumer(world)
    accept(world, invitation_arn)

    with pytest.raises(ClientError) as other_region:
        sagemaker(world, CONSUMER, "us-east-1").describe_context(ContextName=context_arn)
    with pytest.raises(ClientError) as stranger:
        sagemaker(world, STRANGER).describe_context(ContextName=context_arn)
    world.client("ram", account=PRODUCER, region=REGION).disassociate_resource_share(
        resourceShareArn=share_arn, principals=[CONSUMER]
    )
    world.clock.advance(world.transition_delay)  # DISASSOCIATING still grants access
    with pytest.raises(ClientError) as after_disassociation:
        sagemaker(world, CONSUMER).describe_context(ContextName=context_arn)

    assert error_code(other_region) == "AccessDeniedException"
    assert error_code(stranger) == "AccessDeniedException"
    assert error_code(after_disassociation) == "AccessDeniedException"


def test_org_sharing_gives_access_without_an_invitation(world):
    organization = world.create_organization(PRODUCER, {"ml": [CONSUMER]}, ram_sharing_enabled=True)
    context_arn = create_context(world, PRODUCER, "model-endpoint")
    world.client("ram", account=PRODUCER, region=REGION).create_resource_share(
        name="lineage",
        resourceArns=[world.lineage_group_arn(PRODUCER, REGION)],
        principals=[organization.arn],
        allowExternalPrincipals=False,
    )

    described = sagemaker(world, CONSUMER).describe_context(ContextName=context_arn)

    assert described["ContextArn"] == context_arn
    with pytest.raises(ClientError) as outside:
        sagemaker(world, STRANGER).describe_context(ContextName=context_arn)
    assert error_code(outside) == "AccessDeniedException"
    policy = json.loads(
        sagemaker(world, PRODUCER).get_lineage_group_policy(LineageGroupName=GROUP_NAME)[
            "ResourcePolicy"
        ]
    )
    assert policy["Statement"][0]["Principal"] == {"AWS": "*"}
    assert policy["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": [organization.id]}
    }


# ------------------------------------------------------------------ lineage graph


def test_query_lineage_walks_associations_across_a_shared_group(world):
    producer = sagemaker(world, PRODUCER)
    dataset = producer.create_artifact(
        ArtifactName="dataset", ArtifactType="DataSet", Source={"SourceUri": "s3://bucket/data"}
    )["ArtifactArn"]
    training = producer.create_action(
        ActionName="training",
        ActionType="Training",
        Source={"SourceUri": "urn:job"},
        Status="Completed",
    )["ActionArn"]
    model = create_context(world, PRODUCER, "model")
    producer.add_association(
        SourceArn=dataset, DestinationArn=training, AssociationType="ContributedTo"
    )
    producer.add_association(SourceArn=training, DestinationArn=model, AssociationType="Produced")
    _, invitation_arn = invite_consumer(world)
    consumer = sagemaker(world, CONSUMER)
    with pytest.raises(ClientError) as before:
        consumer.query_lineage(StartArns=[model], Direction="Ascendants")
    accept(world, invitation_arn)

    result = consumer.query_lineage(StartArns=[model], Direction="Ascendants", IncludeEdges=True)

    assert error_code(before) == "AccessDeniedException"
    assert {(v["Arn"], v["LineageType"]) for v in result["Vertices"]} == {
        (model, "Context"),
        (training, "Action"),
        (dataset, "Artifact"),
    }
    assert {
        (e["SourceArn"], e["DestinationArn"], e["AssociationType"]) for e in result["Edges"]
    } == {
        (dataset, training, "ContributedTo"),
        (training, model, "Produced"),
    }
    assert consumer.describe_action(ActionName=training)["Status"] == "Completed"
    assert consumer.describe_artifact(ArtifactArn=dataset)["ArtifactName"] == "dataset"
    one_step = producer.query_lineage(StartArns=[model], Direction="Ascendants", MaxDepth=1)
    assert {v["Arn"] for v in one_step["Vertices"]} == {model, training}


def test_add_association_needs_both_entities(world):
    model = create_context(world, PRODUCER, "model")
    producer = sagemaker(world, PRODUCER)

    with pytest.raises(producer.exceptions.ResourceNotFound):
        producer.add_association(
            SourceArn=f"arn:aws:sagemaker:{REGION}:{PRODUCER}:artifact/0123456789abcdef",
            DestinationArn=model,
        )


# ------------------------------------------------------------------ authorization


def test_context_actions_are_authorized_on_the_lowercased_context_arn(world):
    authorizer = RecordingAuthorizer()
    world.authorizer = authorizer
    client = sagemaker(world, PRODUCER)

    client.create_context(
        ContextName="Bootstrap",
        ContextType="marker",
        Source={"SourceUri": "urn:x"},
        Tags=[{"Key": "owner", "Value": "ml"}],
    )
    client.describe_context(ContextName="Bootstrap")
    client.list_lineage_groups()

    context_arn = f"arn:aws:sagemaker:{REGION}:{PRODUCER}:context/bootstrap"
    assert [(r.action, r.resource, dict(r.context)) for r in authorizer.requests] == [
        (
            "sagemaker:CreateContext",
            context_arn,
            {"aws:RequestTag/owner": "ml", "aws:TagKeys": ("owner",)},
        ),
        ("sagemaker:DescribeContext", context_arn, {"aws:ResourceTag/owner": "ml"}),
        ("sagemaker:ListLineageGroups", "*", {}),
    ]


def test_an_identity_policy_denial_is_access_denied_and_creates_nothing(world):
    world.authorizer = RecordingAuthorizer(denied_actions={"sagemaker:CreateContext"})
    client = sagemaker(world, PRODUCER)

    with pytest.raises(ClientError) as raised:
        client.create_context(ContextName="marker", ContextType="t", Source={"SourceUri": "urn:x"})

    assert error_code(raised) == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        "because no identity-based policy allows the sagemaker:CreateContext action"
        in (raised.value.response["Error"]["Message"])
    )
    assert world.lineage_group_arn(PRODUCER, REGION) is None


def test_add_association_is_authorized_on_both_entities(world):
    source = create_context(world, PRODUCER, "a")
    destination = create_context(world, PRODUCER, "b")
    authorizer = RecordingAuthorizer()
    world.authorizer = authorizer

    sagemaker(world, PRODUCER).add_association(SourceArn=source, DestinationArn=destination)

    assert [(r.action, r.resource) for r in authorizer.requests] == [
        ("sagemaker:AddAssociation", source),
        ("sagemaker:AddAssociation", destination),
    ]
