"""`rollout.stack_set`: what the StackSet may be configured to do, checked against botocore's
CloudFormation model and against `sharing:` (organization mode)."""

from __future__ import annotations

import copy

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from config.model import ConfigError, parse_config
from config.rollout_plan import TeardownKind, plan_rollout, plan_stack_set
from config.stack_set import api_range
from tests.conftest import STACK_SET_CONFIG

RAW = yaml.safe_load(STACK_SET_CONFIG.read_text())
MANAGEMENT = "111111111111"
ORG_ARN = RAW["sharing"]["organization_arn"]
OU_ARN = RAW["sharing"]["ou_arns"][0]


def with_stack_set(**changes) -> dict:
    raw = copy.deepcopy(RAW)
    raw["rollout"]["stack_set"].update(changes)
    return raw


def with_preferences(**preferences) -> dict:
    return with_stack_set(operation_preferences=preferences)


def error_of(raw: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(raw)
    return str(raised.value)


def test_the_example_plans_a_service_managed_stack_set_in_the_management_account():
    plan = plan_stack_set(parse_config(RAW))
    assert plan is not None
    assert (plan.administrator_account, plan.region, plan.call_as) == (
        MANAGEMENT,
        "us-east-1",
        "SELF",
    )
    assert plan.organizational_unit_ids == ("ou-ab12-cdef3456",)  # from sharing.ou_arns
    assert plan.share_principals == (OU_ARN,)
    assert plan.regions == ("us-east-1", "eu-west-1")
    assert [b.bucket_name for b in plan.asset_buckets] == [
        "lineage-sharing-stackset-assets-111111111111-us-east-1",
        "lineage-sharing-stackset-assets-111111111111-eu-west-1",
    ]
    assert plan.bucket_prefix == "lineage-sharing-stackset-assets-111111111111-"


def test_a_delegated_administrator_calls_as_delegated_admin():
    plan = plan_stack_set(parse_config(with_stack_set(account="444444444444")))
    assert (plan.administrator_account, plan.call_as) == ("444444444444", "DELEGATED_ADMIN")
    assert plan.asset_buckets[0].bucket_name.endswith("-444444444444-us-east-1")


def test_targets_may_be_ou_ids_ou_arns_or_the_root():
    config = parse_config(
        with_stack_set(organizational_units=["r-ab12", OU_ARN, "ou-ab12-99999999"])
    )
    assert plan_stack_set(config).organizational_unit_ids == (
        "r-ab12",
        "ou-ab12-cdef3456",
        "ou-ab12-99999999",
    )


def test_operation_preferences_are_valid_for_the_cloudformation_api():
    """What the template sends is what CreateStackSet's OperationPreferences accepts."""
    model = botocore.session.get_session().get_service_model("cloudformation")
    shape = model.operation_model("CreateStackInstances").input_shape
    preferences = parse_config(
        with_preferences(
            max_concurrent={"count": 3},
            failure_tolerance={"count": 2},
            region_concurrency="SEQUENTIAL",
            region_order=["eu-west-1", "us-east-1"],
        )
    ).rollout.stack_set.operation_preferences.cfn_properties()
    request = {
        "StackSetName": "LineageSharingMember",
        "Regions": ["us-east-1"],
        "OperationPreferences": preferences,
    }
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert preferences == {
        "MaxConcurrentCount": 3,
        "FailureToleranceCount": 2,
        "RegionConcurrencyType": "SEQUENTIAL",
        "RegionOrder": ["eu-west-1", "us-east-1"],
    }


def test_the_ranges_are_botocores():
    assert api_range("MaxConcurrentCount") == (1, None)
    assert api_range("MaxConcurrentPercentage") == (1, 100)
    assert api_range("FailureToleranceCount") == (0, None)
    assert api_range("FailureTolerancePercentage") == (0, 100)


@pytest.mark.parametrize(
    ("preferences", "message"),
    [
        (
            {"max_concurrent": {"count": 0}},
            "count 0 is out of range: CloudFormation's MaxConcurrentCount is at least 1",
        ),
        ({"max_concurrent": {"percentage": 101}}, "MaxConcurrentPercentage is 1-100"),
        ({"failure_tolerance": {"percentage": 101}}, "FailureTolerancePercentage is 0-100"),
        ({"failure_tolerance": {"count": -1}}, "FailureToleranceCount is at least 0"),
        (
            {"max_concurrent": {"count": 2, "percentage": 10}},
            "give exactly one of count or percentage",
        ),
        ({"max_concurrent": {}}, "give exactly one of count or percentage"),
        (
            {"max_concurrent": {"count": 5}, "failure_tolerance": {"count": 1}},
            "max_concurrent.count 5 is more than failure_tolerance.count 1 + 1",
        ),
        ({"region_concurrency": "ALL_AT_ONCE"}, "region_concurrency"),
        ({"region_order": ["ap-south-1"]}, "region_order: ['ap-south-1'] not in regions"),
        ({"region_order": ["us-east-1", "us-east-1"]}, "lists a region twice"),
    ],
)
def test_operation_preferences_out_of_the_apis_range_name_the_field(preferences, message):
    error = error_of(with_preferences(**preferences))
    assert "rollout.stack_set" in error or "operation_preferences" in error
    assert message in error


def test_soft_failure_tolerance_allows_more_concurrency_than_tolerated_failures():
    config = parse_config(
        with_preferences(
            max_concurrent={"count": 5},
            failure_tolerance={"count": 0},
            concurrency_mode="SOFT_FAILURE_TOLERANCE",
        )
    )
    assert (
        config.rollout.stack_set.operation_preferences.cfn_properties()["MaxConcurrentCount"] == 5
    )


def test_the_stack_set_needs_organization_mode():
    raw = with_stack_set()
    del raw["sharing"]
    raw["accounts"][1].pop("outside_organization")
    assert "rollout.stack_set: needs `sharing: {mode: organization" in error_of(raw)


def test_an_ou_of_another_organization_is_refused():
    other = "arn:aws:organizations::111111111111:ou/o-zzzzzzzzzz/ou-ab12-cdef3456"
    error = error_of(with_stack_set(organizational_units=[other]))
    assert "organizational_units[0]" in error and "o-zzzzzzzzzz" in error


def test_sharing_with_the_whole_organization_needs_explicit_targets():
    raw = with_stack_set()
    del raw["sharing"]["ou_arns"]
    assert "rollout.stack_set.organizational_units: required" in error_of(raw)
    raw["rollout"]["stack_set"]["organizational_units"] = ["r-ab12"]
    assert plan_stack_set(parse_config(raw)).share_principals == (ORG_ARN,)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"organizational_units": ["ou-x"]}, "is not an OU id"),
        ({"regions": []}, "regions"),
        ({"regions": ["us-east-1", "us-east-1"]}, "lists a region twice"),
        ({"regions": ["us-east-9"]}, "unknown region 'us-east-9'"),
        ({"account": 111111111111}, "must be a quoted string"),
        ({"account": MANAGEMENT}, "is the management account already"),
        ({"asset_bucket_prefix": "Has_Capitals"}, "is not a bucket name prefix"),
        ({"asset_bucket_prefix": "a" * 35}, "at most 34 characters"),
        ({"retain_stacks": True}, "retain_stacks"),
    ],
)
def test_bad_stack_set_settings_name_the_field_and_value(changes, message):
    assert message in error_of(with_stack_set(**changes))


def test_the_teardown_deletes_the_stack_set_then_its_buckets_before_the_account_stacks():
    plan = plan_rollout(parse_config(RAW))
    kinds = [step.kind for step in plan.teardown]
    assert kinds == [
        TeardownKind.STACK_SET,
        TeardownKind.STACK_SET_ASSETS,
        TeardownKind.PRODUCERS,
        TeardownKind.ORGANIZATION_SHARING,
        TeardownKind.BOOTSTRAP,
        TeardownKind.EXECUTION_POLICIES,
    ]
    steps = {step.kind: step.stacks for step in plan.teardown}
    assert steps[TeardownKind.STACK_SET] == ("LineageSharingStackSet",)
    assert steps[TeardownKind.STACK_SET_ASSETS] == (
        "LineageSharingStackSetAssets-us-east-1",
        "LineageSharingStackSetAssets-eu-west-1",
    )
    assert steps[TeardownKind.ORGANIZATION_SHARING] == ("LineageSharingOrganization-o-abc123defg",)


def test_the_administrator_is_bootstrapped_in_the_home_region_and_every_bucket_region():
    targets = {(t.account, t.region) for t in plan_rollout(parse_config(RAW)).targets}
    assert targets == {
        (MANAGEMENT, "us-east-1"),  # listed account, organization stack, StackSet stack, bucket
        (MANAGEMENT, "eu-west-1"),  # bucket
        ("999999999999", "us-east-1"),  # the partner outside the organization
    }


def test_the_longest_prefix_fits_s3s_bucket_name_limit_in_every_known_region():
    from config.model import known_regions

    longest = max(known_regions(), key=len)
    assert len(f"{'a' * 34}-111111111111-{longest}") <= 63
