"""The fake SSM Parameter Store (GetParameters), driven through real boto3 clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from simulation.authorization import AuthorizationRequest, AuthorizationResult
from simulation.world import World

ACCOUNT, OTHER = "111111111111", "222222222222"
REGION = "eu-west-1"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NAME = "/LineageSharing-a-eu-west-1/InvitationAcceptor/allowed-producer-accounts/1"


@dataclass
class DenyResources:
    denied: set[str] = field(default_factory=set)
    requests: list[AuthorizationRequest] = field(default_factory=list)

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        self.requests.append(request)
        return AuthorizationResult(request.resource not in self.denied, "test policy")


@pytest.fixture
def world() -> World:
    world = World(start=START)
    world.add_account(ACCOUNT)
    world.add_account(OTHER)
    return world


def ssm(world: World, account: str = ACCOUNT, region: str = REGION):
    return world.client("ssm", account=account, region=region)


def test_get_parameters_returns_what_cloudformation_wrote(world):
    world.ssm.put(ACCOUNT, REGION, NAME, "StringList", "222222222222,333333333333")

    (parameter,) = ssm(world).get_parameters(Names=[NAME])["Parameters"]

    assert parameter["Name"] == NAME
    assert parameter["Type"] == "StringList"
    assert parameter["Value"] == "222222222222,333333333333"
    assert parameter["Version"] == 1
    assert parameter["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{NAME}"
    assert parameter["LastModifiedDate"] == START


def test_a_changed_value_is_a_new_version_and_an_unchanged_one_is_not(world):
    world.ssm.put(ACCOUNT, REGION, NAME, "StringList", "222222222222")
    world.ssm.put(ACCOUNT, REGION, NAME, "StringList", "222222222222")
    world.clock.advance(timedelta(minutes=5))
    world.ssm.put(ACCOUNT, REGION, NAME, "StringList", "333333333333")

    (parameter,) = ssm(world).get_parameters(Names=[NAME])["Parameters"]

    assert (parameter["Version"], parameter["Value"]) == (2, "333333333333")
    assert parameter["LastModifiedDate"] == START + timedelta(minutes=5)


def test_unknown_names_come_back_as_invalid_parameters_not_as_an_error(world):
    world.ssm.put(ACCOUNT, REGION, NAME, "StringList", "222222222222")

    answer = ssm(world).get_parameters(Names=[NAME, "/nothing/here"])

    assert [p["Name"] for p in answer["Parameters"]] == [NAME]
    assert answer["InvalidParameters"] == ["/nothing/here"]


def test_parameters_are_per_account_and_region(world):
    world.ssm.put(ACCOUNT, REGION, NAME, "String", "x")

    assert ssm(world, OTHER).get_parameters(Names=[NAME])["InvalidParameters"] == [NAME]
    assert ssm(world, region="us-east-1").get_parameters(Names=[NAME])["InvalidParameters"] == [
        NAME
    ]
    world.ssm.delete(ACCOUNT, REGION, NAME)
    assert ssm(world).get_parameters(Names=[NAME])["InvalidParameters"] == [NAME]


def test_more_than_ten_names_are_refused_as_the_model_says(world):
    with pytest.raises(ClientError) as caught:
        ssm(world).get_parameters(Names=[f"/p/{n}" for n in range(11)])
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_each_name_is_authorized_on_its_parameter_arn_and_one_denial_denies_the_call(world):
    world.ssm.put(ACCOUNT, REGION, NAME, "String", "x")
    world.ssm.put(ACCOUNT, REGION, "/other", "String", "y")
    authorizer = DenyResources(denied={f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/other"})
    world.authorizer = authorizer

    with pytest.raises(ClientError) as caught:
        ssm(world).get_parameters(Names=[NAME, "/other"])

    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [(r.action, r.resource) for r in authorizer.requests] == [
        ("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{NAME}"),
        ("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/other"),
    ]


def test_selectors_are_not_simulated_rather_than_answered_wrongly(world):
    with pytest.raises(NotImplementedError):
        ssm(world).get_parameters(Names=[f"{NAME}:1"])
