"""The fake AWS RAM, driven through real boto3 clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from simulation.authorization import AuthorizationRequest, AuthorizationResult
from simulation.world import World

OWNER, CONSUMER, STRANGER = "111111111111", "222222222222", "333333333333"
REGION = "eu-west-1"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class RecordingAuthorizer:
    denied_actions: set[str] = field(default_factory=set)
    requests: list[AuthorizationRequest] = field(default_factory=list)

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        self.requests.append(request)
        return AuthorizationResult(request.action not in self.denied_actions, "test policy")

    def requests_for(self, action: str) -> list[AuthorizationRequest]:
        return [r for r in self.requests if r.action == action]


@pytest.fixture
def world() -> World:
    world = World(start=START)
    for account in (OWNER, CONSUMER, STRANGER):
        world.add_account(account)
    return world


def ram(world: World, account: str):
    return world.client("ram", account=account, region=REGION)


def lineage_group(world: World, account: str = OWNER) -> str:
    """The account's lineage group, made by creating a first context if need be."""
    if existing := world.lineage_group_arn(account, REGION):
        return existing
    world.client("sagemaker", account=account, region=REGION).create_context(
        ContextName="bootstrap", ContextType="marker", Source={"SourceUri": "urn:test"}
    )
    arn = world.lineage_group_arn(account, REGION)
    assert arn is not None
    return arn


def share_with(world: World, *principals: str, **extra) -> str:
    response = ram(world, OWNER).create_resource_share(
        name="lineage", resourceArns=[lineage_group(world)], principals=list(principals), **extra
    )
    return response["resourceShare"]["resourceShareArn"]


def invitations(world: World, account: str) -> list[dict]:
    return ram(world, account).get_resource_share_invitations()["resourceShareInvitations"]


def principal_associations(world: World, share_arn: str) -> dict[str, dict]:
    response = ram(world, OWNER).get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share_arn]
    )
    return {a["associatedEntity"]: a for a in response["resourceShareAssociations"]}


def accepted_share(world: World) -> str:
    """A share of the owner's lineage group that CONSUMER has accepted."""
    share_arn = share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]
    ram(world, CONSUMER).accept_resource_share_invitation(resourceShareInvitationArn=invitation_arn)
    return share_arn


def own_share(world: World, share_arn: str) -> dict:
    (share,) = ram(world, OWNER).get_resource_shares(
        resourceOwner="SELF", resourceShareArns=[share_arn]
    )["resourceShares"]
    return share


def received_shares(world: World) -> list[str]:
    response = ram(world, CONSUMER).get_resource_shares(resourceOwner="OTHER-ACCOUNTS")
    return [s["resourceShareArn"] for s in response["resourceShares"]]


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return raised.value.response["Error"]["Code"]


# ------------------------------------------------------------------ invitations


def test_an_account_outside_the_org_gets_an_invitation_only_it_can_see(world):
    share_arn = share_with(world, CONSUMER)

    received = invitations(world, CONSUMER)

    assert [(i["resourceShareArn"], i["senderAccountId"], i["status"]) for i in received] == [
        (share_arn, OWNER, "PENDING")
    ]
    assert received[0]["resourceShareInvitationArn"].startswith(
        f"arn:aws:ram:{REGION}:{OWNER}:resource-share-invitation/"
    )
    assert invitations(world, OWNER) == []
    assert invitations(world, STRANGER) == []
    assert (
        world.client("ram", account=CONSUMER, region="us-east-1").get_resource_share_invitations()[
            "resourceShareInvitations"
        ]
        == []
    )
    association = principal_associations(world, share_arn)[CONSUMER]
    assert (association["status"], association["external"]) == ("ASSOCIATING", True)


def test_accepting_makes_the_association_associated_and_tells_both_sides(world):
    share_arn = share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]
    world.take_events(OWNER, REGION), world.take_events(CONSUMER, REGION)
    world.clock.advance(timedelta(minutes=3))

    accepted = ram(world, CONSUMER).accept_resource_share_invitation(
        resourceShareInvitationArn=invitation_arn, clientToken="accept-1"
    )

    assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"
    assert accepted["clientToken"] == "accept-1"
    association = principal_associations(world, share_arn)[CONSUMER]
    assert association["status"] == "ASSOCIATED"
    assert association["lastUpdatedTime"] == START + timedelta(minutes=3)
    for account in (OWNER, CONSUMER):
        (event,) = world.take_events(account, REGION)
        assert event["source"] == "aws.ram"
        assert event["detail-type"] == "Resource Sharing State Change"
        assert (event["account"], event["region"]) == (account, REGION)
        assert event["detail"] == {"event": "Resource Share Invitation", "status": "ACCEPTED"}
        assert event["resources"] == [invitation_arn]
    shared = ram(world, CONSUMER).get_resource_shares(resourceOwner="OTHER-ACCOUNTS")
    assert [s["resourceShareArn"] for s in shared["resourceShares"]] == [share_arn]


def test_the_invitation_event_reaches_the_receiver_and_the_owner(world):
    share_with(world, CONSUMER)

    consumer_events = world.take_events(CONSUMER, REGION)
    owner_events = world.take_events(OWNER, REGION)

    assert [e["detail"] for e in consumer_events] == [
        {"event": "Resource Share Invitation", "status": "PENDING"}
    ]
    assert {"event": "Resource Share Invitation", "status": "PENDING"} in [
        e["detail"] for e in owner_events
    ]
    assert world.take_events(CONSUMER, REGION) == []  # taken once
    assert world.take_events(STRANGER, REGION) == []


def test_an_invitation_cannot_be_accepted_by_anyone_else(world):
    share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]

    for account in (STRANGER, OWNER):
        with pytest.raises(ClientError) as raised:
            ram(world, account).accept_resource_share_invitation(
                resourceShareInvitationArn=invitation_arn
            )
        assert error_code(raised) == "ResourceShareInvitationArnNotFoundException"
    assert invitations(world, CONSUMER)[0]["status"] == "PENDING"


def test_answered_invitations_cannot_be_answered_again(world):
    share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]
    consumer = ram(world, CONSUMER)
    consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation_arn)

    with pytest.raises(consumer.exceptions.ResourceShareInvitationAlreadyAcceptedException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation_arn)
    with pytest.raises(consumer.exceptions.ResourceShareInvitationAlreadyAcceptedException):
        consumer.reject_resource_share_invitation(resourceShareInvitationArn=invitation_arn)
    with pytest.raises(consumer.exceptions.MalformedArnException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn="not-an-arn")


def test_a_rejected_invitation_leaves_the_principal_without_access(world):
    share_arn = share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]
    consumer = ram(world, CONSUMER)

    consumer.reject_resource_share_invitation(resourceShareInvitationArn=invitation_arn)

    assert invitations(world, CONSUMER)[0]["status"] == "REJECTED"
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "DISASSOCIATED"
    with pytest.raises(consumer.exceptions.ResourceShareInvitationAlreadyRejectedException):
        consumer.list_pending_invitation_resources(resourceShareInvitationArn=invitation_arn)
    assert not world.ram.grants_access(world.lineage_group_arn(OWNER, REGION), CONSUMER)


def test_pending_invitation_resources_are_listed_for_the_receiver_only(world):
    share_arn = share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]

    resources = ram(world, CONSUMER).list_pending_invitation_resources(
        resourceShareInvitationArn=invitation_arn
    )["resources"]

    assert [(r["arn"], r["type"], r["resourceShareArn"], r["status"]) for r in resources] == [
        (world.lineage_group_arn(OWNER, REGION), "sagemaker:LineageGroup", share_arn, "AVAILABLE")
    ]
    with pytest.raises(ClientError) as raised:
        ram(world, STRANGER).list_pending_invitation_resources(
            resourceShareInvitationArn=invitation_arn
        )
    assert error_code(raised) == "ResourceShareInvitationArnNotFoundException"


def test_invitations_expire_after_12_hours_and_sharing_again_makes_a_new_one(world):
    share_arn = share_with(world, CONSUMER)
    old_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]
    consumer, owner = ram(world, CONSUMER), ram(world, OWNER)

    world.clock.advance(timedelta(hours=11, minutes=59))
    assert invitations(world, CONSUMER)[0]["status"] == "PENDING"
    world.clock.advance(timedelta(minutes=1))
    assert invitations(world, CONSUMER)[0]["status"] == "EXPIRED"
    with pytest.raises(consumer.exceptions.ResourceShareInvitationExpiredException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=old_arn)
    stale = principal_associations(world, share_arn)[CONSUMER]
    assert (stale["status"], stale["lastUpdatedTime"]) == ("ASSOCIATING", START)

    owner.disassociate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])
    world.clock.advance(world.transition_delay)
    owner.associate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])

    fresh = [i for i in invitations(world, CONSUMER) if i["status"] == "PENDING"]
    assert len(fresh) == 1 and fresh[0]["resourceShareInvitationArn"] != old_arn
    consumer.accept_resource_share_invitation(
        resourceShareInvitationArn=fresh[0]["resourceShareInvitationArn"]
    )
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "ASSOCIATED"


def test_a_sender_may_have_at_most_20_pending_invitations(world):
    consumers = [f"{900000000000 + n}" for n in range(21)]
    share_arn = share_with(world, *consumers[:20])

    with pytest.raises(ClientError) as raised:
        ram(world, OWNER).associate_resource_share(
            resourceShareArn=share_arn, principals=[consumers[20]]
        )

    assert error_code(raised) == "ResourceShareLimitExceededException"
    assert consumers[20] not in principal_associations(world, share_arn)


def test_sharing_with_the_owner_itself_needs_no_invitation(world):
    share_arn = share_with(world, OWNER)

    assert principal_associations(world, share_arn)[OWNER]["status"] == "ASSOCIATED"
    assert invitations(world, OWNER) == []


# ------------------------------------------------------------------ organizations


def test_org_and_ou_principals_associate_directly_without_invitations(world):
    organization = world.create_organization(OWNER, {"ml": [CONSUMER]})
    with pytest.raises(ClientError) as raised:
        ram(world, CONSUMER).enable_sharing_with_aws_organization()
    assert error_code(raised) == "OperationNotPermittedException"
    assert ram(world, OWNER).enable_sharing_with_aws_organization()["returnValue"] is True

    share_arn = share_with(world, organization.ou_arns["ml"], allowExternalPrincipals=False)

    association = principal_associations(world, share_arn)[organization.ou_arns["ml"]]
    assert (association["status"], association["external"]) == ("ASSOCIATED", False)
    assert invitations(world, CONSUMER) == []
    assert world.ram.grants_access(world.lineage_group_arn(OWNER, REGION), CONSUMER)
    assert {"event": "Resource Share Association", "status": "ASSOCIATED"} in [
        e["detail"] for e in world.take_events(CONSUMER, REGION)
    ]


def test_an_account_in_the_org_is_invited_until_org_sharing_is_enabled(world):
    world.create_organization(OWNER, {"ml": [CONSUMER]})
    first = share_with(world, CONSUMER)
    assert principal_associations(world, first)[CONSUMER]["status"] == "ASSOCIATING"
    assert principal_associations(world, first)[CONSUMER]["external"] is False

    ram(world, OWNER).enable_sharing_with_aws_organization()
    second = share_with(world, CONSUMER)

    assert principal_associations(world, second)[CONSUMER]["status"] == "ASSOCIATED"
    assert [i["resourceShareArn"] for i in invitations(world, CONSUMER)] == [first]


def test_org_principals_need_org_sharing_and_external_accounts_need_allow_external(world):
    organization = world.create_organization(OWNER, {"ml": [CONSUMER]})

    with pytest.raises(ClientError) as org_disabled:
        share_with(world, organization.arn)
    with pytest.raises(ClientError) as external:
        share_with(world, STRANGER, allowExternalPrincipals=False)

    assert error_code(org_disabled) == "OperationNotPermittedException"
    assert error_code(external) == "OperationNotPermittedException"
    assert ram(world, OWNER).get_resource_shares(resourceOwner="SELF")["resourceShares"] == []


# ------------------------------------------------------------------ shares


def test_create_is_idempotent_per_client_token(world):
    group = lineage_group(world)
    owner = ram(world, OWNER)
    request = {"name": "lineage", "resourceArns": [group], "principals": [CONSUMER]}

    first = owner.create_resource_share(**request, clientToken="token-1")
    again = owner.create_resource_share(**request, clientToken="token-1")
    with pytest.raises(owner.exceptions.IdempotentParameterMismatchException):
        owner.create_resource_share(**{**request, "name": "other"}, clientToken="token-1")

    assert first["resourceShare"]["resourceShareArn"] == again["resourceShare"]["resourceShareArn"]
    assert len(owner.get_resource_shares(resourceOwner="SELF")["resourceShares"]) == 1
    assert len(invitations(world, CONSUMER)) == 1


def test_only_existing_own_resources_can_be_shared(world):
    owner = ram(world, OWNER)
    missing = f"arn:aws:sagemaker:{REGION}:{OWNER}:lineage-group/sagemaker-default-lineage-group"

    with pytest.raises(owner.exceptions.UnknownResourceException):
        owner.create_resource_share(name="s", resourceArns=[missing])
    with pytest.raises(owner.exceptions.UnknownResourceException):
        owner.create_resource_share(name="s", resourceArns=[lineage_group(world, CONSUMER)])
    with pytest.raises(owner.exceptions.MalformedArnException):
        owner.create_resource_share(name="s", resourceArns=["lineage-group"])


def test_listing_filters_and_pages(world):
    group = lineage_group(world)
    owner = ram(world, OWNER)
    for name in ("a", "b", "c"):
        owner.create_resource_share(
            name=name, resourceArns=[group], tags=[{"key": "team", "value": name}]
        )

    first = owner.get_resource_shares(resourceOwner="SELF", maxResults=2)
    second = owner.get_resource_shares(resourceOwner="SELF", nextToken=first["nextToken"])
    by_name = owner.get_resource_shares(resourceOwner="SELF", name="b")["resourceShares"]
    by_tag = owner.get_resource_shares(
        resourceOwner="SELF", tagFilters=[{"tagKey": "team", "tagValues": ["c"]}]
    )["resourceShares"]

    assert [s["name"] for s in first["resourceShares"] + second["resourceShares"]] == [
        "a",
        "b",
        "c",
    ]
    assert "nextToken" not in second
    assert [s["name"] for s in by_name] == ["b"]
    assert [s["name"] for s in by_tag] == ["c"]
    assert ram(world, CONSUMER).get_resource_shares(resourceOwner="SELF")["resourceShares"] == []
    with pytest.raises(owner.exceptions.InvalidNextTokenException):
        owner.get_resource_shares(resourceOwner="SELF", nextToken="garbage")


def test_update_and_tags_change_the_share(world):
    share_arn = share_with(world)
    owner = ram(world, OWNER)

    owner.update_resource_share(resourceShareArn=share_arn, allowExternalPrincipals=False)
    owner.tag_resource(resourceShareArn=share_arn, tags=[{"key": "k", "value": "v"}])
    owner.tag_resource(resourceShareArn=share_arn, tags=[{"key": "gone", "value": "x"}])
    owner.untag_resource(resourceShareArn=share_arn, tagKeys=["gone"])

    (share,) = owner.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert share["allowExternalPrincipals"] is False
    assert share["tags"] == [{"key": "k", "value": "v"}]
    with pytest.raises(ClientError) as raised:
        ram(world, CONSUMER).tag_resource(
            resourceShareArn=share_arn, tags=[{"key": "k", "value": "x"}]
        )
    assert error_code(raised) == "UnknownResourceException"


def test_deleting_revokes_access_at_once_and_the_share_is_deleted_after_the_delay(world):
    share_arn = accepted_share(world)
    owner = ram(world, OWNER)
    world.clock.advance(timedelta(minutes=1))
    deleted_at = START + timedelta(minutes=1)

    deleted = owner.delete_resource_share(resourceShareArn=share_arn, clientToken="delete-1")

    assert deleted["returnValue"] is True
    share = own_share(world, share_arn)
    assert (share["status"], share["lastUpdatedTime"]) == ("DELETING", deleted_at)
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "DISASSOCIATING"
    assert not world.ram.grants_access(world.lineage_group_arn(OWNER, REGION), CONSUMER)
    assert received_shares(world) == []
    assert {"event": "Resource Share", "status": "DELETED"} in [
        e["detail"] for e in world.take_events(CONSUMER, REGION)
    ]
    # The same token replays the answer; a new one meets a share RAM is still deleting.
    assert owner.delete_resource_share(resourceShareArn=share_arn, clientToken="delete-1")[
        "returnValue"
    ]
    with pytest.raises(owner.exceptions.InvalidStateTransitionException):
        owner.delete_resource_share(resourceShareArn=share_arn, clientToken="delete-2")
    with pytest.raises(owner.exceptions.InvalidStateTransitionException):
        owner.associate_resource_share(resourceShareArn=share_arn, principals=[STRANGER])

    world.clock.advance(world.transition_delay)

    share = own_share(world, share_arn)
    assert (share["status"], share["lastUpdatedTime"]) == (
        "DELETED",
        deleted_at + world.transition_delay,
    )
    association = principal_associations(world, share_arn)[CONSUMER]
    assert (association["status"], association["lastUpdatedTime"]) == (
        "DISASSOCIATED",
        deleted_at + world.transition_delay,
    )
    with pytest.raises(owner.exceptions.UnknownResourceException):
        owner.delete_resource_share(resourceShareArn=share_arn, clientToken="delete-3")


def test_a_deleted_share_stays_listed_about_two_hours(world):
    share_arn = share_with(world, CONSUMER)
    owner = ram(world, OWNER)
    owner.delete_resource_share(resourceShareArn=share_arn)
    world.clock.advance(world.transition_delay)

    world.clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert own_share(world, share_arn)["status"] == "DELETED"
    assert owner.get_resource_shares(resourceOwner="SELF", resourceShareStatus="DELETED")[
        "resourceShares"
    ]
    world.clock.advance(timedelta(seconds=1))
    assert owner.get_resource_shares(resourceOwner="SELF")["resourceShares"] == []


def test_a_disassociated_principal_keeps_access_until_the_delay_has_passed(world):
    share_arn = accepted_share(world)
    group = world.lineage_group_arn(OWNER, REGION)
    assert world.ram.grants_access(group, CONSUMER)

    ram(world, OWNER).disassociate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])

    association = principal_associations(world, share_arn)[CONSUMER]
    assert (association["status"], association["lastUpdatedTime"]) == ("DISASSOCIATING", START)
    assert world.ram.grants_access(group, CONSUMER)
    assert world.ram.principals_granted(group) == [CONSUMER]
    assert received_shares(world) == [share_arn]
    world.clock.advance(world.transition_delay - timedelta(seconds=1))
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "DISASSOCIATING"

    world.clock.advance(timedelta(seconds=1))

    association = principal_associations(world, share_arn)[CONSUMER]
    assert (association["status"], association["lastUpdatedTime"]) == (
        "DISASSOCIATED",
        START + world.transition_delay,
    )
    assert not world.ram.grants_access(group, CONSUMER)
    assert world.ram.principals_granted(group) == []
    assert received_shares(world) == []
    listed = ram(world, OWNER).get_resource_share_associations(
        associationType="PRINCIPAL", associationStatus="DISASSOCIATED"
    )["resourceShareAssociations"]
    assert [a["associatedEntity"] for a in listed] == [CONSUMER]


def test_a_principal_still_disassociating_cannot_be_associated_again_until_disassociated(world):
    share_arn = accepted_share(world)
    owner = ram(world, OWNER)
    owner.disassociate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])

    with pytest.raises(owner.exceptions.InvalidStateTransitionException):
        owner.associate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])
    with pytest.raises(owner.exceptions.InvalidStateTransitionException):
        owner.disassociate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])
    # A refused call changes nothing, not even for the other principals it names.
    with pytest.raises(owner.exceptions.InvalidStateTransitionException):
        owner.associate_resource_share(resourceShareArn=share_arn, principals=[STRANGER, CONSUMER])
    assert STRANGER not in principal_associations(world, share_arn)
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "DISASSOCIATING"

    world.clock.advance(world.transition_delay)
    owner.associate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])

    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "ASSOCIATING"
    assert [i["status"] for i in invitations(world, CONSUMER)] == ["ACCEPTED", "PENDING"]


def test_a_zero_transition_delay_completes_disassociation_and_deletion_at_once():
    world = World(start=START, transition_delay=timedelta(0))
    for account in (OWNER, CONSUMER):
        world.add_account(account)
    share_arn = accepted_share(world)
    owner = ram(world, OWNER)

    owner.disassociate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "DISASSOCIATED"
    assert not world.ram.grants_access(world.lineage_group_arn(OWNER, REGION), CONSUMER)
    owner.associate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])
    owner.delete_resource_share(resourceShareArn=share_arn)

    share = own_share(world, share_arn)
    assert (share["status"], share["lastUpdatedTime"]) == ("DELETED", START)
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "DISASSOCIATED"
    with pytest.raises(ValueError):
        World(transition_delay=timedelta(seconds=-1))


def test_a_consumer_cannot_leave_a_lineage_group_share(world):
    share_arn = share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]
    consumer = ram(world, CONSUMER)
    consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation_arn)

    with pytest.raises(consumer.exceptions.OperationNotPermittedException):
        consumer.disassociate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])

    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "ASSOCIATED"


def test_association_listing_checks_filters_and_shows_resources(world):
    share_arn = share_with(world, CONSUMER)
    owner = ram(world, OWNER)

    resources = owner.get_resource_share_associations(associationType="RESOURCE")
    associating = owner.get_resource_share_associations(
        associationType="PRINCIPAL", associationStatus="ASSOCIATING", principal=CONSUMER
    )
    with pytest.raises(owner.exceptions.InvalidParameterException):
        owner.get_resource_share_associations(associationType="RESOURCE", principal=CONSUMER)

    (resource,) = resources["resourceShareAssociations"]
    assert (resource["associatedEntity"], resource["status"]) == (
        world.lineage_group_arn(OWNER, REGION),
        "ASSOCIATED",
    )
    assert [a["resourceShareArn"] for a in associating["resourceShareAssociations"]] == [share_arn]
    listed = owner.list_resources(resourceOwner="SELF")["resources"]
    assert [r["arn"] for r in listed] == [world.lineage_group_arn(OWNER, REGION)]


# ------------------------------------------------------------------ authorization


def test_create_is_authorized_per_resource_and_per_principal_as_ram_documents(world):
    group = lineage_group(world)
    authorizer = RecordingAuthorizer()
    world.authorizer = authorizer

    ram(world, OWNER).create_resource_share(
        name="lineage",
        resourceArns=[group],
        principals=[CONSUMER, STRANGER],
        allowExternalPrincipals=True,
        tags=[{"key": "team", "value": "ml"}],
    )

    requests = authorizer.requests_for("ram:CreateResourceShare")
    assert {r.resource for r in requests} == {"*"}
    assert {(r.account, r.region) for r in requests} == {(OWNER, REGION)}
    assert {r.principal_arn for r in requests} == {f"arn:aws:iam::{OWNER}:role/SimulationOperator"}
    common = {
        "ram:RequestedAllowsExternalPrincipals": "true",
        "aws:RequestTag/team": "ml",
        "aws:TagKeys": ("team",),
    }
    # The resource's context has no ram:Principal; each principal's has no resource keys.
    assert [r.context for r in requests] == [
        {**common, "ram:ResourceArn": group, "ram:RequestedResourceType": "sagemaker:LineageGroup"},
        {**common, "ram:Principal": CONSUMER},
        {**common, "ram:Principal": STRANGER},
    ]


def test_share_actions_are_authorized_on_the_share_arn(world):
    share_arn = share_with(world)
    ram(world, OWNER).tag_resource(
        resourceShareArn=share_arn, tags=[{"key": "env", "value": "prod"}]
    )
    authorizer = RecordingAuthorizer()
    world.authorizer = authorizer

    ram(world, OWNER).associate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])

    (request,) = authorizer.requests_for("ram:AssociateResourceShare")
    assert request.resource == share_arn
    assert request.context["ram:ResourceShareName"] == "lineage"
    assert request.context["ram:Principal"] == CONSUMER
    assert request.context["aws:ResourceTag/env"] == "prod"


def test_changing_who_a_lineage_group_is_shared_with_needs_the_owning_services_permission(world):
    """Creating, changing and emptying the group's RAM-made policy: one action each."""
    group = lineage_group(world)
    authorizer = RecordingAuthorizer()
    world.authorizer = authorizer
    owner = ram(world, OWNER)

    share_arn = owner.create_resource_share(
        name="lineage", resourceArns=[group], principals=[CONSUMER]
    )["resourceShare"]["resourceShareArn"]
    owner.associate_resource_share(resourceShareArn=share_arn, principals=[STRANGER])
    owner.disassociate_resource_share(resourceShareArn=share_arn, principals=[STRANGER])
    owner.delete_resource_share(resourceShareArn=share_arn)

    owning_service = [
        (r.action, r.resource) for r in authorizer.requests if r.action.startswith("sagemaker:")
    ]
    assert owning_service == [
        ("sagemaker:CreateLineageGroupPolicy", "*"),
        ("sagemaker:PutLineageGroupPolicy", "*"),
        ("sagemaker:PutLineageGroupPolicy", "*"),
        ("sagemaker:DeleteLineageGroupPolicy", "*"),
    ]


@pytest.mark.parametrize(
    "missing", ["sagemaker:CreateLineageGroupPolicy", "sagemaker:DeleteLineageGroupPolicy"]
)
def test_a_caller_without_the_owning_services_permission_is_refused_and_nothing_changes(
    world, missing
):
    group = lineage_group(world)
    owner = ram(world, OWNER)
    if missing == "sagemaker:DeleteLineageGroupPolicy":
        share_arn = share_with(world, CONSUMER)
    world.authorizer = RecordingAuthorizer(denied_actions={missing})

    with pytest.raises(ClientError) as raised:
        if missing == "sagemaker:CreateLineageGroupPolicy":
            owner.create_resource_share(name="lineage", resourceArns=[group], principals=[CONSUMER])
        else:
            owner.delete_resource_share(resourceShareArn=share_arn)

    assert error_code(raised) == "AccessDeniedException"
    assert f"is not authorized to perform: {missing}" in raised.value.response["Error"]["Message"]
    shares = owner.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert [s["status"] for s in shares] == ([] if "Create" in missing else ["ACTIVE"])


def test_a_denied_accept_is_access_denied_on_the_invitation_arn(world):
    share_with(world, CONSUMER)
    invitation_arn = invitations(world, CONSUMER)[0]["resourceShareInvitationArn"]
    authorizer = RecordingAuthorizer(denied_actions={"ram:AcceptResourceShareInvitation"})
    world.authorizer = authorizer
    principal = f"arn:aws:iam::{CONSUMER}:role/InvitationAcceptor"
    consumer = world.client("ram", account=CONSUMER, region=REGION, principal_arn=principal)

    with pytest.raises(ClientError) as raised:
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation_arn)

    assert error_code(raised) == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert raised.value.response["Error"]["Message"] == (
        f"User: {principal} is not authorized to perform: ram:AcceptResourceShareInvitation "
        f"on resource: {invitation_arn} because no identity-based policy allows the "
        "ram:AcceptResourceShareInvitation action"
    )
    (request,) = authorizer.requests_for("ram:AcceptResourceShareInvitation")
    assert request.resource == invitation_arn
    assert request.principal_arn == principal
    assert request.context == {"ram:ShareOwnerAccountId": OWNER, "ram:ResourceShareName": "lineage"}
    assert invitations(world, CONSUMER)[0]["status"] == "PENDING"


def test_list_operations_are_authorized_on_star(world):
    authorizer = RecordingAuthorizer()
    world.authorizer = authorizer
    consumer = ram(world, CONSUMER)

    consumer.get_resource_share_invitations()
    consumer.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")
    consumer.get_resource_share_associations(associationType="PRINCIPAL")

    assert [(r.action, r.resource) for r in authorizer.requests] == [
        ("ram:GetResourceShareInvitations", "*"),
        ("ram:GetResourceShares", "*"),
        ("ram:GetResourceShareAssociations", "*"),
    ]


# ------------------------------------------------------------------ scenario controls


def resource_association(world: World, share_arn: str) -> dict:
    [association] = ram(world, OWNER).get_resource_share_associations(
        associationType="RESOURCE", resourceShareArns=[share_arn]
    )["resourceShareAssociations"]
    return association


def test_a_share_can_fail_and_reports_the_status_message(world):
    share_arn = share_with(world, CONSUMER)

    world.ram.fail_share(share_arn, "Internal failure.")

    share = own_share(world, share_arn)
    assert (share["status"], share["statusMessage"]) == ("FAILED", "Internal failure.")
    with pytest.raises(ClientError) as raised:  # nothing more can be associated
        ram(world, OWNER).associate_resource_share(
            resourceShareArn=share_arn, principals=[STRANGER]
        )
    assert error_code(raised) == "InvalidStateTransitionException"
    ram(world, OWNER).delete_resource_share(resourceShareArn=share_arn)  # but it can be deleted


def test_a_resource_association_can_fail_now_or_at_the_next_share(world):
    group = lineage_group(world)
    world.ram.next_associations_end_as(group, "FAILED", "Could not attach the policy.")

    failing = share_with(world, CONSUMER)
    working = share_with(world, CONSUMER)

    association = resource_association(world, failing)
    assert (association["status"], association["statusMessage"]) == (
        "FAILED",
        "Could not attach the policy.",
    )
    assert own_share(world, failing)["status"] == "ACTIVE"  # the share itself looks fine
    assert resource_association(world, working)["status"] == "ASSOCIATED"
    world.ram.fail_association(working, group, "The policy was removed.")
    assert resource_association(world, working)["status"] == "FAILED"


def test_a_failed_principal_gets_no_invitation_and_associating_it_again_starts_afresh(world):
    world.ram.next_associations_end_as(CONSUMER, "FAILED", "Cannot receive shares.")
    share_arn = share_with(world, CONSUMER)
    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "FAILED"
    assert invitations(world, CONSUMER) == []

    ram(world, OWNER).associate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])

    assert principal_associations(world, share_arn)[CONSUMER]["status"] == "ASSOCIATING"
    assert [i["status"] for i in invitations(world, CONSUMER)] == ["PENDING"]


def test_new_shares_can_be_kept_pending(world):
    world.ram.next_shares_stay("PENDING")

    first, second = share_with(world), share_with(world)

    assert [own_share(world, arn)["status"] for arn in (first, second)] == ["PENDING", "ACTIVE"]
    with pytest.raises(ValueError, match="PENDING"):
        world.ram.next_shares_stay("FAILED")
