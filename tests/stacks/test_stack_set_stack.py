"""The StackSet path of config/example-stackset.yaml: the StackSet, its one generic member
template, the regional Lambda code buckets, and how the code gets into them.

The asset tests are the proof that cdklabs/cdk-stacksets#895 (template S3 keys that differ
from the uploaded objects for CDK's framework-provided custom resource handlers) cannot
happen here: every S3Key of the member template is published, under that key, into every
region's bucket by the manifest the synthesizer writes, from a staged file that exists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file
from syrupy.extensions.json import JSONSnapshotExtension

from app import REPO_ROOT
from tests.stacks.test_template_snapshots import masked

MANAGEMENT = "111111111111"
REGIONS = ("us-east-1", "eu-west-1")
OU_ARN = "arn:aws:organizations::111111111111:ou/o-abc123defg/ou-ab12-cdef3456"
CDK_ASSETS = REPO_ROOT / "codebuild" / "cdk-assets" / "cdk-assets.js"
BUCKET_PREFIX = "lineage-sharing-stackset-assets-111111111111-"


def resources_of(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def stack_set_resource(stackset_app) -> dict:
    template = stackset_app.top_level("LineageSharingStackSet").template
    ((_, resource),) = resources_of(template, "AWS::CloudFormation::StackSet").items()
    return resource["Properties"]


@pytest.fixture(scope="module")
def member(stackset_app) -> tuple[Path, dict]:
    """The member template: the file the StackSet's TemplateURL object is uploaded from."""
    manifest = json.loads((stackset_app.outdir / "LineageSharingStackSet.assets.json").read_text())
    url = stack_set_resource(stackset_app)["TemplateURL"]["Fn::Sub"]
    key = url.rsplit("/", 1)[1]
    (entry,) = [
        asset
        for asset in manifest["files"].values()
        if any(d["objectKey"] == key for d in asset["destinations"].values())
    ]
    path = stackset_app.outdir / entry["source"]["path"]
    return path, json.loads(path.read_text())


@pytest.fixture(scope="module")
def member_assets(stackset_app, member) -> tuple[Path, dict]:
    (path,) = stackset_app.outdir.glob("*.stackset-assets.json")
    return path, json.loads(path.read_text())


# ---------------------------------------------------------------------------- the StackSet


def test_a_service_managed_stack_set_with_auto_deployment_targets_the_ous(stackset_app):
    properties = stack_set_resource(stackset_app)
    assert properties["PermissionModel"] == "SERVICE_MANAGED"
    assert properties["CallAs"] == "SELF"
    assert properties["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert properties["StackInstancesGroup"] == [
        {
            "DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-cdef3456"]},
            "Regions": list(REGIONS),
        }
    ]
    assert properties["OperationPreferences"] == {
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
        "FailureTolerancePercentage": 10,
        "MaxConcurrentPercentage": 25,
        "RegionConcurrencyType": "PARALLEL",
    }
    assert properties["Capabilities"] == ["CAPABILITY_IAM"]
    assert properties["ManagedExecution"] == {"Active": True}


def test_the_stack_set_stack_deploys_to_the_administrator_after_the_buckets(stackset_app):
    stack = stackset_app.top_level("LineageSharingStackSet")
    assert (stack.account, stack.region) == (MANAGEMENT, "us-east-1")
    assert {f"LineageSharingStackSetAssets-{r}" for r in REGIONS} <= set(
        stack.artifact["dependencies"]
    )


def test_the_template_url_is_the_member_template_in_the_administrators_bootstrap_bucket(
    stackset_app, member
):
    url = stack_set_resource(stackset_app)["TemplateURL"]["Fn::Sub"]
    assert url.startswith(
        "https://s3.us-east-1.${AWS::URLSuffix}/cdk-hnb659fds-assets-111111111111-us-east-1/"
    )
    path, template = member
    assert path.name.endswith(".template.json")
    assert "Custom::LineageGroupShare" in {r["Type"] for r in template["Resources"].values()}


def test_the_member_template_is_no_stack_of_the_assembly(stackset_app, member):
    """`cdk deploy` can never deploy it directly: StackSets does, in the member accounts."""
    path, _ = member
    templates = {s.artifact["properties"]["templateFile"] for s in stackset_app.stacks}
    assert path.name not in templates


# ---------------------------------------------------------------------------- the member template


def test_the_member_template_is_generic_no_account_or_region_is_written_in(member):
    _, template = member
    text = json.dumps(template)
    for region in REGIONS:
        assert region not in text
    # The only account id: the management account's, in the OU's ARN (the share's principal)
    # and in the code bucket's name (its administrator owns the buckets).
    assert text.replace(OU_ARN, "").count(MANAGEMENT) == text.count(BUCKET_PREFIX)
    assert "999999999999" not in text
    # Nothing a member account lacks: no bootstrap version rule, no parameters.
    assert "Rules" not in template and "Parameters" not in template


def test_members_share_with_the_ou_without_external_principals_and_accept_nothing(member):
    _, template = member
    (share,) = resources_of(template, "Custom::LineageGroupShare").values()
    assert share["Properties"]["Principals"] == [OU_ARN]
    assert share["Properties"]["AllowExternalPrincipals"] == "false"
    rules = resources_of(template, "AWS::Events::Rule")
    # No acceptor's rule: the only event pattern is the producer's reconcile on its RAM events.
    patterned = [name for name, rule in rules.items() if "EventPattern" in rule["Properties"]]
    assert len(patterned) == 1 and "ReconcileOnRamEvent" in patterned[0]
    roles = json.dumps(resources_of(template, "AWS::IAM::Role"))
    assert "AcceptResourceShareInvitation" not in json.dumps(template)
    assert roles  # the share manager's roles are in it


def test_the_share_role_may_only_create_shares_without_external_principals(member):
    _, template = member
    statements = [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    creates = [s for s in statements if s["Action"] == "ram:CreateResourceShare"]
    assert creates
    for statement in creates:
        assert statement["Condition"]["Bool"] == {"ram:RequestedAllowsExternalPrincipals": "false"}
    (by_principal,) = [s for s in creates if "ram:Principal" in s["Condition"]["StringEquals"]]
    assert by_principal["Condition"]["StringEquals"]["ram:Principal"] == [OU_ARN]


# ---------------------------------------------------------------------------- Lambda code


def lambda_code(template: dict) -> dict[str, dict]:
    return {
        k: r["Properties"]["Code"]
        for k, r in resources_of(template, "AWS::Lambda::Function").items()
    }


def test_every_function_reads_its_code_from_the_bucket_of_its_own_region(member):
    _, template = member
    codes = lambda_code(template)
    assert len(codes) == 6  # share on_event, is_complete, reconcile; the framework's three
    for code in codes.values():
        assert code["S3Bucket"] == {"Fn::Sub": BUCKET_PREFIX + "${AWS::Region}"}


def test_every_s3_key_of_the_member_template_is_published_into_every_regions_bucket(
    stackset_app, member, member_assets
):
    """cdk-stacksets#895 cannot happen: the key the template names is the key published."""
    _, template = member
    _, manifest = member_assets
    published = {
        (d["bucketName"], d["objectKey"]): asset["source"]
        for asset in manifest["files"].values()
        for d in asset["destinations"].values()
    }
    framework = [k for k in lambda_code(template) if "Providerframework" in k]
    assert len(framework) == 3  # CDK's own provider functions are among them
    for logical_id, code in lambda_code(template).items():
        for region in REGIONS:
            source = published[(BUCKET_PREFIX + region, code["S3Key"])]
            staged = stackset_app.outdir / source["path"]
            assert staged.is_dir() and any(staged.iterdir()), logical_id
            assert source["packaging"] == "zip"


def test_the_manifest_publishes_each_asset_once_per_region_into_the_planned_buckets(
    stackset_app, member_assets
):
    _, manifest = member_assets
    buckets = {
        stackset_app.top_level(f"LineageSharingStackSetAssets-{r}").template["Resources"][
            "AssetBucket9EB898D0"
        ]["Properties"]["BucketName"]
        for r in REGIONS
    }
    for asset in manifest["files"].values():
        assert {d["region"] for d in asset["destinations"].values()} == set(REGIONS)
        assert {d["bucketName"] for d in asset["destinations"].values()} == buckets
        # The caller's credentials (the administrator account's): no bootstrap role to assume.
        assert all("assumeRoleArn" not in d for d in asset["destinations"].values())


def test_the_pinned_cdk_assets_reads_the_member_manifest(stackset_app, member_assets):
    path, manifest = member_assets
    listed = subprocess.run(
        ["node", str(CDK_ASSETS), "--path", str(path), "ls"],
        cwd=stackset_app.outdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    for asset_id, asset in manifest["files"].items():
        for destination in asset["destinations"]:
            assert f"{asset_id}:{destination}" in listed.stdout


# ---------------------------------------------------------------------------- the code buckets


@pytest.mark.parametrize("region", REGIONS)
def test_only_the_organization_may_read_the_code_and_only_over_tls(stackset_app, region):
    template = stackset_app.top_level(f"LineageSharingStackSetAssets-{region}").template
    (bucket,) = resources_of(template, "AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert properties["BucketName"] == f"{BUCKET_PREFIX}{region}"
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert bucket["DeletionPolicy"] == "Retain"
    (policy,) = resources_of(template, "AWS::S3::BucketPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s.get("Sid") == "OrganizationReadsLambdaCode"]
    assert read["Effect"] == "Allow"
    assert read["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert read["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abc123defg"}}
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# ---------------------------------------------------------------------------- review gates

STACK_SET_STACKS = [
    "LineageSharingStackSet",
    "LineageSharingStackSetAssets-eu-west-1",
    "LineageSharingExecutionPolicy-management-eu-west-1",
]


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_name", STACK_SET_STACKS)
def test_stack_set_stack_snapshot(stackset_app, snapshot_json, stack_name):
    assert masked(stackset_app.top_level(stack_name).template) == snapshot_json


def test_member_template_snapshot(member, snapshot_json):
    _, template = member
    assert masked(template) == snapshot_json


def test_cdk_nag_reports_nothing_unacknowledged_member_template_included(stackset_app):
    report = json.loads((stackset_app.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []


@pytest.mark.parametrize(
    "which", ["LineageSharingStackSet", "LineageSharingStackSetAssets-eu-west-1", "member"]
)
def test_cfn_lint_reports_no_error_or_warning(stackset_app, member, which):
    if which == "member":
        path, regions = member[0], list(REGIONS)
    else:
        stack = stackset_app.top_level(which)
        path = stackset_app.outdir / stack.artifact["properties"]["templateFile"]
        regions = [stack.region]
    matches = lint_file(path, config=ManualArgs(regions=regions, ignore_checks=["W3005"]))
    assert [str(m) for m in matches] == []
