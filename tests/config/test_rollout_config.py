"""The `rollout:` section and the accounts' `wave`: every bad value is named with its field."""

from __future__ import annotations

import copy

import pytest

from config.model import ConfigError, parse_config
from tests.conftest import CONNECTION_ARN, ROLLOUT


def with_pipeline(**changes) -> dict:
    raw = copy.deepcopy(ROLLOUT)
    raw["rollout"]["pipeline"].update(changes)
    return raw


def problems(raw: dict) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    return str(error.value)


def test_the_test_config_is_valid_and_keeps_every_account_wave(rollout_config):
    assert [a.wave for a in rollout_config.accounts] == [1, 1, 2, 2, 2]
    pipeline = rollout_config.rollout.pipeline
    assert pipeline.source.chosen == pipeline.source.connection
    assert pipeline.manual_approval_before_waves == (2,)


def test_wave_defaults_to_one_and_rollout_to_absent(example_config):
    assert {account.wave for account in example_config.accounts} == {1}
    assert example_config.rollout is None


@pytest.mark.parametrize(
    "source",
    [
        {"codecommit": {"repository": "ml-lineage-sharing", "branch": "release/2027"}},
        {"s3": {"bucket": "my-org-sources", "object_key": "lineage/source.zip"}},
        {
            "connection": {
                "arn": CONNECTION_ARN.replace("codeconnections", "codestar-connections"),
                "repository": "group/subgroup/repo",
                "branch": "main",
            }
        },
    ],
    ids=["codecommit", "s3", "codestar-connections-arn-and-gitlab-subgroup"],
)
def test_alternative_sources_are_accepted(source):
    config = parse_config(with_pipeline(source=source))
    assert config.rollout.pipeline.source.chosen is not None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"account": 999999999999},
            "rollout.pipeline.account: account id 999999999999 must be a quoted string",
        ),
        (
            {"region": "us-north-7"},
            "rollout.pipeline.region: unknown region 'us-north-7': expected a region where "
            "CodePipeline exists",
        ),
        (
            {
                "source": {
                    "connection": {
                        "arn": "arn:aws:codestar:us-east-1:1:x",
                        "repository": "o/r",
                        "branch": "main",
                    }
                }
            },
            "rollout.pipeline.source.connection.arn: 'arn:aws:codestar:us-east-1:1:x' is not a "
            "connection ARN",
        ),
        (
            {
                "source": {
                    "connection": {"arn": CONNECTION_ARN, "repository": "repo", "branch": "main"}
                }
            },
            "rollout.pipeline.source.connection.repository: 'repo' is not a repository id of the "
            "form owner/repository",
        ),
        (
            {"source": {"codecommit": {"repository": "r", "branch": "feature..x"}}},
            "rollout.pipeline.source.codecommit.branch: 'feature..x' is not a valid git branch name",
        ),
        (
            {"source": {"codecommit": {"repository": "bad name", "branch": "main"}}},
            "rollout.pipeline.source.codecommit.repository: 'bad name' is not a CodeCommit "
            "repository name",
        ),
        (
            {"source": {"s3": {"bucket": "My_Bucket", "object_key": "a.zip"}}},
            "rollout.pipeline.source.s3.bucket: 'My_Bucket' is not a valid S3 bucket name",
        ),
        (
            {"source": {"s3": {"bucket": "my-bucket", "object_key": "source.tar.gz"}}},
            "rollout.pipeline.source.s3.object_key: object key 'source.tar.gz' must name a .zip",
        ),
        (
            {"source": {}},
            "rollout.pipeline.source: give exactly one of connection, codecommit or s3 (got none)",
        ),
        (
            {
                "source": {
                    "codecommit": {"repository": "r", "branch": "main"},
                    "s3": {"bucket": "my-bucket", "object_key": "a.zip"},
                }
            },
            "rollout.pipeline.source: give exactly one of connection, codecommit or s3 (got ['codecommit', 's3'])",
        ),
        ({"source": {"github": {}}}, "rollout.pipeline.source.github: unknown key (allowed here: "),
        ({"manual_approval_before_waves": [2, 2]}, "[2, 2] lists a wave twice"),
        (
            {"manual_approval_before_waves": [0]},
            "rollout.pipeline.manual_approval_before_waves[0]: Input should be greater than or equal to 1; got 0",
        ),
        (
            {"manual_approval_before_waves": [3]},
            "rollout: pipeline.manual_approval_before_waves: no account is in wave(s) [3] "
            "(the accounts' waves are [1, 2])",
        ),
        ({"approvals": [2]}, "rollout.pipeline.approvals: unknown key (allowed here: "),
    ],
)
def test_bad_pipeline_settings_name_the_field_and_the_value(change, expected):
    assert expected in problems(with_pipeline(**change))


def test_a_wave_below_one_names_the_account():
    raw = copy.deepcopy(ROLLOUT)
    raw["accounts"][1]["wave"] = 0
    assert "accounts[1].wave: Input should be greater than or equal to 1; got 0" in problems(raw)


def test_every_pipeline_problem_is_reported_at_once():
    message = problems(
        with_pipeline(account="12", region="nowhere-1", manual_approval_before_waves=[1, 1])
    )
    assert "rollout.pipeline.account" in message
    assert "rollout.pipeline.region" in message
    assert "manual_approval_before_waves" in message
