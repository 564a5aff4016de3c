"""`lineage-sharing plan` shows the StackSet path of config/example-stackset.yaml."""

from __future__ import annotations

from lineage_sharing.cli import main
from tests.conftest import STACK_SET_CONFIG


def test_plan_shows_the_stack_set_path_in_deploy_order(stackset_app, capsys):
    code = main(["plan", "--config", str(STACK_SET_CONFIG), "--cdk-out", str(stackset_app.outdir)])
    out = capsys.readouterr().out

    assert code == 0
    assert (
        "StackSet LineageSharingMember (service-managed, auto-deployment on, CallAs SELF), "
        "administered from the management account 111111111111 in us-east-1" in out
    )
    assert "every account of ou-ab12-cdef3456 gets the member stack in us-east-1, eu-west-1" in out
    assert "its member stacks are deleted" in out
    assert "never the management account itself" in out
    steps = [
        "npx cdk bootstrap aws://111111111111/eu-west-1",
        "npx cdk deploy LineageSharingStackSetAssets-us-east-1",
        "npx cdk deploy LineageSharingStackSetAssets-eu-west-1",
        "cdk-assets.js --path cdk.out/LineageSharingStackSetMember*.stackset-assets.json publish",
        "npx cdk deploy LineageSharingStackSet -c",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)


def test_plan_without_a_stack_set_says_nothing_of_it(example_app, capsys):
    from tests.conftest import EXAMPLE_CONFIG

    code = main(["plan", "--config", str(EXAMPLE_CONFIG), "--cdk-out", str(example_app.outdir)])
    assert code == 0 and "StackSet" not in capsys.readouterr().out


def test_plan_and_status_read_no_rollout_stack_as_a_sharing_stack(stackset_app):
    from lineage_sharing.cloud_assembly import read_cloud_assembly

    names = {stack.name for stack in read_cloud_assembly(stackset_app.outdir)}
    assert names == {
        "LineageSharing-management-us-east-1",
        "LineageSharing-partner-us-east-1",
        "LineageSharingOrganization-o-abc123defg",
    }
