"""Per-account credentials for real accounts, offline: STS answered by botocore's Stubber
(which checks every request against the real STS model), profiles from a temporary AWS config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from lineage_sharing.credentials import (
    AccountAccessError,
    AccountSessions,
    CredentialSource,
    client_with_credentials,
)
from lineage_sharing.status import check_pairs

TRAINING, STAGING = "111111111111", "222222222222"
NAMES = {TRAINING: "training", STAGING: "staging"}
REGION = "eu-west-1"


def static_session(**kwargs) -> boto3.Session:
    """A session that never looks for credentials on this machine."""
    if "profile_name" in kwargs:
        return boto3.Session(**kwargs)
    kwargs.setdefault("aws_access_key_id", "AKIDBASE")
    kwargs.setdefault("aws_secret_access_key", "base-secret")
    return boto3.Session(**kwargs)


class StubbedSts:
    """`sts_client` for AccountSessions: one stubbed client, its expected calls queued."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "sts", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
        )
        self.stub = Stubber(self.client)
        self.stub.activate()
        self.regions: list[str] = []

    def __call__(self, session, region):
        self.regions.append(region)
        return self.client

    def assume_role(self, account: str, role: str, key: str) -> None:
        self.stub.add_response(
            "assume_role",
            {
                "Credentials": {
                    "AccessKeyId": key,
                    "SecretAccessKey": "secret",
                    "SessionToken": "token",
                    "Expiration": datetime.now(UTC) + timedelta(hours=1),
                },
                "AssumedRoleUser": {
                    "AssumedRoleId": "AROAEXAMPLE:lineage-sharing-status",
                    "Arn": f"arn:aws:sts::{account}:assumed-role/{role}/lineage-sharing-status",
                },
            },
            {
                "RoleArn": f"arn:aws:iam::{account}:role/{role}",
                "RoleSessionName": "lineage-sharing-status",
            },
        )

    def caller_is(self, account: str) -> None:
        self.stub.add_response(
            "get_caller_identity",
            {"UserId": "AIDA", "Account": account, "Arn": f"arn:aws:iam::{account}:user/ops"},
            {},
        )


def test_a_role_is_assumed_in_each_account_and_its_credentials_are_used():
    sts = StubbedSts()
    sts.assume_role(TRAINING, "LineageSharingStatus", "ASIATRAINING00000001")
    sts.assume_role(STAGING, "LineageSharingStatus", "ASIASTAGING000000001")
    sessions = AccountSessions(
        CredentialSource(role_name="LineageSharingStatus"),
        NAMES,
        session_factory=static_session,
        sts_client=sts,
    )

    training = sessions.session(TRAINING, REGION)
    staging = sessions.session(STAGING, REGION)

    assert training.get_credentials().access_key == "ASIATRAINING00000001"
    assert staging.get_credentials().access_key == "ASIASTAGING000000001"
    assert sessions.session(TRAINING, REGION) is training  # assumed once per account
    client = sessions("ram", TRAINING, REGION)
    assert client.meta.region_name == REGION
    sts.stub.assert_no_pending_responses()


def test_a_role_that_cannot_be_assumed_names_the_role_and_the_fix():
    sts = StubbedSts()
    sts.stub.add_client_error(
        "assume_role",
        service_error_code="AccessDenied",
        service_message="User: arn:aws:iam::999999999999:user/ops is not authorized to perform: sts:AssumeRole",
        http_status_code=403,
    )
    sessions = AccountSessions(
        CredentialSource(role_name="LineageSharingStatus"),
        NAMES,
        session_factory=static_session,
        sts_client=sts,
    )

    with pytest.raises(AccountAccessError) as raised:
        sessions.session(TRAINING, REGION)

    message = str(raised.value)
    assert message.startswith("cannot assume ")
    assert "arn:aws:iam::111111111111:role/LineageSharingStatus (AccessDenied:" in message
    assert "read-only status policy" in message


def test_roles_in_china_regions_use_the_aws_cn_partition():
    sts = StubbedSts()
    sts.stub.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIACHINA00000000001",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": datetime.now(UTC) + timedelta(hours=1),
            }
        },
        {"RoleArn": f"arn:aws-cn:iam::{TRAINING}:role/Status", "RoleSessionName": "audit"},
    )
    sessions = AccountSessions(
        CredentialSource(role_name="Status", session_name="audit"),
        NAMES,
        session_factory=static_session,
        sts_client=sts,
    )
    assert (
        sessions.session(TRAINING, "cn-north-1").get_credentials().access_key
        == "ASIACHINA00000000001"
    )


@pytest.fixture
def aws_config(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text(
        "[profile ml-training]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n"
        "[profile ml-staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = s\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_profiles_by_pattern_are_checked_to_belong_to_the_account(aws_config):
    sts = StubbedSts()
    sts.caller_is(TRAINING)
    sts.caller_is("999999999999")  # ml-staging is someone else's account
    sessions = AccountSessions(CredentialSource(profile_pattern="ml-{name}"), NAMES, sts_client=sts)

    assert sessions.session(TRAINING, REGION).get_credentials().access_key == "AKIDPROFILE"
    with pytest.raises(AccountAccessError) as raised:
        sessions.session(STAGING, REGION)
    assert "profile ml-staging is for account 999999999999" in str(raised.value)
    assert "--profile staging=PROFILE" in str(raised.value)


def test_a_missing_profile_is_an_access_problem_not_a_crash(aws_config):
    sessions = AccountSessions(CredentialSource(profiles={TRAINING: "nope"}), NAMES)
    with pytest.raises(AccountAccessError) as raised:
        sessions.session(TRAINING, REGION)
    assert str(raised.value).startswith("no credentials from profile nope")


def test_an_account_without_access_is_reported_and_the_check_goes_on(example_app):
    """Through check_pairs: the sessions of one account fail, that account is reported."""
    from lineage_sharing.cloud_assembly import read_cloud_assembly

    stacks = read_cloud_assembly(example_app.outdir)

    def clients(service, account, region):
        raise AccountAccessError(f"cannot assume arn:aws:iam::{account}:role/Status")

    report = check_pairs(stacks, clients, names={}, workers=2)

    assert not report.ok and {p.state for p in report.pairs} == {"unknown"}
    assert sorted(report.account_problems) == ["111111111111", "222222222222", "333333333333"]
    assert report.pairs[0].cause == (
        "cannot check 333333333333: cannot assume arn:aws:iam::333333333333:role/Status"
    )


def test_no_credentials_at_all_is_an_access_problem_that_names_the_options(aws_config):
    sessions = AccountSessions(CredentialSource(), NAMES)
    with pytest.raises(AccountAccessError) as raised:
        sessions.session(TRAINING, REGION)
    message = str(raised.value)
    assert message.startswith("no credentials from the default credentials")
    assert "pass --profile training=PROFILE, --profile-pattern or --role-name" in message


def test_a_client_with_assumed_credentials_signs_with_them_in_its_region():
    credentials = {"AccessKeyId": "ASIAQUERYROLE", "SecretAccessKey": "s", "SessionToken": "t"}
    client = client_with_credentials("sagemaker", "eu-west-1", credentials)
    signing = client._request_signer._credentials.get_frozen_credentials()
    assert (signing.access_key, signing.token) == ("ASIAQUERYROLE", "t")
    assert client.meta.region_name == "eu-west-1"
