"""The offline IAM evaluator against the synthesized example templates, and its building blocks."""

from __future__ import annotations

import json

import pytest

from lineage_sharing.cloud_assembly import (
    ACCEPTOR_HANDLER,
    SHARE_ON_EVENT_HANDLER,
    SynthesizedStack,
    read_cloud_assembly,
)
from simulation.authorization import ANY_RESOURCE, AllowAll, AuthorizationRequest
from simulation.iam import (
    Condition,
    MalformedRequest,
    PolicyError,
    PolicyEvaluator,
    RecordingAuthorizer,
    UnknownAction,
    arn_matches,
    arn_pattern_can_match_format,
    globs_intersect,
    resolve,
    role_policies,
    simulated_role_arn,
)
from simulation.iam_policies import UnresolvableIntrinsic, managed_policy_arns, simulated_stack_id

TRAINING, STAGING, FOREIGN = "111111111111", "222222222222", "999999999999"
REGION = "us-east-1"
SHARE_NAME = "sm_lineage_sharing"


def own_lineage_group(account: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:lineage-group/sagemaker-default-lineage-group"


def invitation(sender: str) -> str:
    return f"arn:aws:ram:{REGION}:{sender}:resource-share-invitation/0d1e2f3a-4b5c"


def share(owner: str) -> str:
    return f"arn:aws:ram:{REGION}:{owner}:resource-share/9a8b7c6d-5e4f"


@pytest.fixture(scope="module")
def stacks(example_app) -> list[SynthesizedStack]:
    return read_cloud_assembly(example_app.outdir)


@pytest.fixture(scope="module")
def training(stacks) -> SynthesizedStack:
    (stack,) = [s for s in stacks if s.account == TRAINING]
    return stack


@pytest.fixture(scope="module")
def evaluator(stacks) -> PolicyEvaluator:
    return PolicyEvaluator.from_stacks(stacks)


def role_of(stack: SynthesizedStack, handler: str) -> str:
    return simulated_role_arn(stack, stack.handler_role_logical_id(handler))


def ask(evaluator, stack, role_arn, action, resource=ANY_RESOURCE, **context):
    request = AuthorizationRequest(
        role_arn, stack.account, stack.region, action, resource, context=context
    )
    return evaluator.authorize(request)


def accept(evaluator, stack, resource, owner, role=None):
    role = role or role_of(stack, ACCEPTOR_HANDLER)
    return ask(
        evaluator,
        stack,
        role,
        "ram:AcceptResourceShareInvitation",
        resource,
        **{"ram:ShareOwnerAccountId": owner},
    )


# ---------------------------------------------------------------- the invitation acceptor
def test_acceptor_accepts_invitation_from_a_configured_producer(evaluator, training):
    result = accept(evaluator, training, invitation(STAGING), owner=STAGING)
    assert result.allowed, result.reason
    assert "AcceptOnlyFromConfiguredProducers" in result.reason


def test_acceptor_refuses_a_foreign_producer_by_the_share_owner_condition(evaluator, training):
    # The resource is this region's invitations of any sender; the owner condition fences.
    result = accept(evaluator, training, invitation(FOREIGN), owner=FOREIGN)
    assert not result.allowed
    assert "StringEquals ram:ShareOwnerAccountId" in result.reason
    assert repr(FOREIGN) in result.reason


def test_acceptor_refuses_an_invitation_of_another_region(evaluator, training):
    other_region = invitation(STAGING).replace(f":{REGION}:", ":eu-west-1:")
    result = accept(evaluator, training, other_region, owner=STAGING)
    assert not result.allowed
    assert "does not match" in result.reason


def test_acceptor_refuses_when_only_the_share_owner_condition_fails(evaluator, training):
    result = accept(evaluator, training, invitation(STAGING), owner=FOREIGN)
    assert not result.allowed
    assert "does not match" not in result.reason
    assert "StringEquals ram:ShareOwnerAccountId" in result.reason


def test_acceptor_refuses_when_the_share_owner_key_is_missing(evaluator, training):
    role = role_of(training, ACCEPTOR_HANDLER)
    result = ask(
        evaluator, training, role, "ram:AcceptResourceShareInvitation", invitation(STAGING)
    )
    assert not result.allowed
    assert "absent from the request context" in result.reason


def test_acceptor_lists_received_invitations_on_any_resource(evaluator, training):
    role = role_of(training, ACCEPTOR_HANDLER)
    result = ask(evaluator, training, role, "ram:GetResourceShareInvitations")
    assert result.allowed, result.reason


def test_acceptor_cannot_create_shares_and_says_which_actions_it_has(evaluator, training):
    role = role_of(training, ACCEPTOR_HANDLER)
    result = ask(evaluator, training, role, "ram:CreateResourceShare")
    assert not result.allowed
    assert "no Allow statement covers the action" in result.reason
    assert "ram:AcceptResourceShareInvitation" in result.reason


# ---------------------------------------------------------------- the share manager
def create_share(evaluator, stack, resource_type, resource_arn, external="true"):
    """The request context RAM builds for the resource of a CreateResourceShare."""
    role = role_of(stack, SHARE_ON_EVENT_HANDLER)
    context = {
        "ram:RequestedResourceType": resource_type,
        "ram:ResourceArn": resource_arn,
        "ram:RequestedAllowsExternalPrincipals": external,
    }
    return ask(evaluator, stack, role, "ram:CreateResourceShare", ANY_RESOURCE, **context)


def create_share_for(evaluator, stack, principal, external="true"):
    """The request context RAM builds for one principal of a CreateResourceShare."""
    role = role_of(stack, SHARE_ON_EVENT_HANDLER)
    context = {"ram:Principal": principal, "ram:RequestedAllowsExternalPrincipals": external}
    return ask(evaluator, stack, role, "ram:CreateResourceShare", ANY_RESOURCE, **context)


def test_share_manager_creates_a_share_of_its_own_lineage_group(evaluator, training):
    result = create_share(
        evaluator, training, "sagemaker:LineageGroup", own_lineage_group(TRAINING)
    )
    assert result.allowed, result.reason
    assert "CreateShareOfOwnLineageGroupOnly" in result.reason


@pytest.mark.parametrize(
    "resource_type, resource_arn, external",
    [
        ("sagemaker:LineageGroup", own_lineage_group(STAGING), "true"),
        ("glue:Database", own_lineage_group(TRAINING), "true"),
        ("sagemaker:LineageGroup", own_lineage_group(TRAINING), "false"),
    ],
    ids=["another-accounts-group", "another-resource-type", "other-external-setting"],
)
def test_share_manager_cannot_share_anything_else(
    evaluator, training, resource_type, resource_arn, external
):
    result = create_share(evaluator, training, resource_type, resource_arn, external)
    assert not result.allowed
    assert "CreateShareOfOwnLineageGroupOnly" in result.reason


def test_share_manager_creates_shares_only_for_the_configured_consumers(evaluator, training):
    assert create_share_for(evaluator, training, STAGING).allowed
    stranger = create_share_for(evaluator, training, FOREIGN)
    assert not stranger.allowed and "ram:Principal" in stranger.reason
    assert not create_share_for(evaluator, training, STAGING, external="false").allowed


def test_share_manager_manages_only_the_configured_share_of_its_account(evaluator, training):
    role = role_of(training, SHARE_ON_EVENT_HANDLER)

    def associate(resource, name, principal=STAGING):
        context = {"ram:ResourceShareName": name, "ram:Principal": principal}
        return ask(evaluator, training, role, "ram:AssociateResourceShare", resource, **context)

    assert associate(share(TRAINING), SHARE_NAME).allowed
    other_name = associate(share(TRAINING), "someone_elses_share")
    assert not other_name.allowed and "ram:ResourceShareName" in other_name.reason
    other_account = associate(share(STAGING), SHARE_NAME)
    assert not other_account.allowed and "does not match" in other_account.reason
    stranger = associate(share(TRAINING), SHARE_NAME, principal=FOREIGN)
    assert not stranger.allowed and "ram:Principal" in stranger.reason


def test_share_manager_never_adds_or_removes_a_resource_through_associations(evaluator, training):
    role = role_of(training, SHARE_ON_EVENT_HANDLER)
    resource_context = {
        "ram:ResourceShareName": SHARE_NAME,
        "ram:ResourceArn": own_lineage_group(TRAINING),
        "ram:RequestedResourceType": "sagemaker:LineageGroup",
    }
    for action in ("ram:AssociateResourceShare", "ram:DisassociateResourceShare"):
        assert not ask(
            evaluator, training, role, action, share(TRAINING), **resource_context
        ).allowed
    removed_consumer = {"ram:ResourceShareName": SHARE_NAME, "ram:Principal": FOREIGN}
    action = "ram:DisassociateResourceShare"
    assert ask(evaluator, training, role, action, share(TRAINING), **removed_consumer).allowed


def test_share_manager_sets_only_the_configured_external_principals_flag(evaluator, training):
    role = role_of(training, SHARE_ON_EVENT_HANDLER)

    def update(**context):
        context = {"ram:ResourceShareName": SHARE_NAME, **context}
        return ask(evaluator, training, role, "ram:UpdateResourceShare", share(TRAINING), **context)

    assert update(**{"ram:RequestedAllowsExternalPrincipals": "true"}).allowed
    assert not update(**{"ram:RequestedAllowsExternalPrincipals": "false"}).allowed
    assert not update().allowed  # e.g. a rename alone


def test_share_manager_creates_only_the_bootstrap_context(evaluator, training):
    role = role_of(training, SHARE_ON_EVENT_HANDLER)
    context_arn = f"arn:aws:sagemaker:{REGION}:{TRAINING}:context/"
    bootstrap = ask(
        evaluator,
        training,
        role,
        "sagemaker:CreateContext",
        context_arn + "lineage-sharing-bootstrap",
    )
    assert bootstrap.allowed, bootstrap.reason
    other = ask(evaluator, training, role, "sagemaker:CreateContext", context_arn + "other")
    assert not other.allowed


def test_provider_framework_roles_resolve_and_invoke_the_handlers(evaluator, training):
    provider_role = simulated_role_arn(
        training, "LineageGroupShareProviderframeworkonEventServiceRole8232E33B"
    )
    (on_event,) = [
        logical_id
        for logical_id, resource in training.resources.items()
        if resource["Properties"].get("Handler") == SHARE_ON_EVENT_HANDLER
    ]
    function_arn = resolve({"Fn::GetAtt": [on_event, "Arn"]}, stack=training, partition="aws")
    for resource in (function_arn, function_arn + ":$LATEST"):
        result = ask(evaluator, training, provider_role, "lambda:InvokeFunction", resource)
        assert result.allowed, result.reason
    waiter = resolve(
        {"Ref": "LineageGroupShareProviderwaiterstatemachine9CCAB46B"},
        stack=training,
        partition="aws",
    )
    assert ask(evaluator, training, provider_role, "states:StartExecution", waiter).allowed
    other_function = f"arn:aws:lambda:{REGION}:{TRAINING}:function:other"
    assert not ask(
        evaluator, training, provider_role, "lambda:InvokeFunction", other_function
    ).allowed


def test_managed_policies_are_recorded_and_named_in_denials(evaluator, training):
    provider_role = simulated_role_arn(
        training, "LineageGroupShareProviderframeworkonEventServiceRole8232E33B"
    )
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert managed_policy_arns(training)[provider_role] == [basic]
    log_stream = f"arn:aws:logs:{REGION}:{TRAINING}:log-group:any:log-stream:s"
    result = ask(evaluator, training, provider_role, "logs:PutLogEvents", log_stream)
    assert not result.allowed and basic in result.reason


def test_a_managed_policy_of_the_template_counts_for_the_roles_it_names(training):
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Part2": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "ram:AcceptResourceShareInvitation",
                                "Resource": {
                                    "Fn::Join": [
                                        "",
                                        ["arn:aws:ram:", {"Ref": "AWS::Region"}, ":*:*"],
                                    ]
                                },
                            }
                        ],
                    },
                    "Roles": [{"Ref": "Role"}],
                },
            },
        }
    }
    stack = SynthesizedStack("S", TRAINING, REGION, template)
    role = simulated_role_arn(stack, "Role")
    (statement,) = role_policies(stack)[role]
    assert statement["Resource"] == f"arn:aws:ram:{REGION}:*:*"


def test_handler_logs_only_to_their_own_log_group(evaluator, training):
    role = role_of(training, ACCEPTOR_HANDLER)
    (log_group,) = [
        logical_id
        for logical_id, resource in training.resources.items()
        if logical_id.startswith("InvitationAcceptorLogs")
    ]
    group_arn = resolve({"Fn::GetAtt": [log_group, "Arn"]}, stack=training, partition="aws")
    assert group_arn.endswith(":*")
    own_stream = group_arn.removesuffix("*") + "log-stream:2026/01/01/abc"
    assert ask(evaluator, training, role, "logs:PutLogEvents", own_stream).allowed
    other_stream = f"arn:aws:logs:{REGION}:{TRAINING}:log-group:other:log-stream:x"
    assert not ask(evaluator, training, role, "logs:PutLogEvents", other_stream).allowed


# ---------------------------------------------------------------- principals and lifecycle
def test_unregistered_principal_goes_to_the_fallback_or_is_denied(stacks, training):
    operator = f"arn:aws:iam::{TRAINING}:role/Admin"
    with_fallback = PolicyEvaluator.from_stacks(stacks, fallback=AllowAll())
    assert ask(with_fallback, training, operator, "ram:CreateResourceShare").allowed
    without = PolicyEvaluator.from_stacks(stacks)
    result = ask(without, training, operator, "ram:CreateResourceShare")
    assert not result.allowed and "no policy is registered" in result.reason


def test_roles_of_a_deleted_stack_are_denied_even_with_a_fallback(stacks, training):
    evaluator = PolicyEvaluator.from_stacks(stacks, fallback=AllowAll())
    evaluator.remove_roles_of(training)
    role = role_of(training, ACCEPTOR_HANDLER)
    result = ask(evaluator, training, role, "ram:GetResourceShareInvitations")
    assert not result.allowed and "deleted with stack" in result.reason
    evaluator.add_stack(training)
    assert ask(evaluator, training, role, "ram:GetResourceShareInvitations").allowed


def test_explicit_deny_wins_over_an_allow(training):
    evaluator = PolicyEvaluator()
    role = f"arn:aws:iam::{TRAINING}:role/r"
    evaluator.add_role(
        role,
        [
            {"Sid": "All", "Effect": "Allow", "Action": "ram:*", "Resource": "*"},
            {
                "Sid": "NoForeign",
                "Effect": "Deny",
                "Action": "ram:AcceptResourceShareInvitation",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"ram:ShareOwnerAccountId": STAGING}},
            },
        ],
    )
    denied = accept(evaluator, training, invitation(FOREIGN), owner=FOREIGN, role=role)
    assert not denied.allowed and "explicit deny by statement 'NoForeign'" in denied.reason
    allowed = accept(evaluator, training, invitation(STAGING), owner=STAGING, role=role)
    assert allowed.allowed and "'All'" in allowed.reason


def test_recording_authorizer_keeps_every_answer(evaluator, training):
    recorder = RecordingAuthorizer(evaluator)
    accept(recorder, training, invitation(STAGING), owner=STAGING)
    accept(recorder, training, invitation(FOREIGN), owner=FOREIGN)
    assert [result.allowed for _, result in recorder.records] == [True, False]
    assert [request.resource for request, _ in recorder.denials] == [invitation(FOREIGN)]


# ---------------------------------------------------------------- wrong requests
def test_a_request_that_does_not_fit_the_action_raises(evaluator, training):
    role = role_of(training, SHARE_ON_EVENT_HANDLER)
    with pytest.raises(MalformedRequest, match="no resource type"):
        ask(evaluator, training, role, "ram:CreateResourceShare", share(TRAINING))
    with pytest.raises(MalformedRequest, match="resource-share-invitation"):
        ask(evaluator, training, role, "ram:AcceptResourceShareInvitation", share(TRAINING))
    with pytest.raises(UnknownAction):
        ask(evaluator, training, role, "ram:PutLineageGroupPolicy")


def test_a_statement_naming_an_arn_for_create_resource_share_grants_nothing(training):
    evaluator = PolicyEvaluator()
    role = f"arn:aws:iam::{TRAINING}:role/r"
    evaluator.add_role(
        role,
        [
            {
                "Sid": "Misguided",
                "Effect": "Allow",
                "Action": "ram:CreateResourceShare",
                "Resource": f"arn:aws:ram:{REGION}:{TRAINING}:resource-share/*",
            }
        ],
    )
    result = ask(evaluator, training, role, "ram:CreateResourceShare")
    assert not result.allowed and "'Misguided'" in result.reason
    (problem,) = evaluator.lint()
    assert "never matches for ram:CreateResourceShare" in problem and "Misguided" in problem


# ---------------------------------------------------------------- lint
def test_synthesized_roles_have_no_lint_findings(example_app, hub_app):
    for app in (example_app, hub_app):
        evaluator = PolicyEvaluator.from_stacks(read_cloud_assembly(app.outdir))
        assert evaluator.role_arns
        assert evaluator.lint() == []


def test_lint_reports_wildcards_unknown_actions_and_inapplicable_keys():
    evaluator = PolicyEvaluator()
    evaluator.add_role(
        "arn:aws:iam::111111111111:role/r",
        [
            {"Sid": "Wild", "Effect": "Allow", "Action": "ram:Get*", "Resource": "*"},
            {"Sid": "Typo", "Effect": "Allow", "Action": "ram:AcceptInvitation", "Resource": "*"},
            {
                "Sid": "WrongKey",
                "Effect": "Allow",
                "Action": "ram:GetResourceShares",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "ram:ShareOwnerAccountId": STAGING,
                        "aws:PrincipalAccount": TRAINING,
                    }
                },
            },
            {
                "Sid": "SingleValuedOperatorOnTagKeys",
                "Effect": "Allow",
                "Action": "ram:TagResource",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:TagKeys": "project"}},
            },
            {
                "Sid": "WrongType",
                "Effect": "Allow",
                "Action": "sagemaker:CreateContext",
                "Resource": f"arn:aws:sagemaker:{REGION}:{TRAINING}:lineage-group/*",
            },
        ],
    )
    problems = evaluator.lint()
    assert len(problems) == 5, problems
    wild, typo, wrong_key, tag_keys, wrong_type = problems
    assert "'Wild'" in wild and "wildcard action 'ram:Get*'" in wild
    assert "'Typo'" in typo and "not an action" in typo
    assert "ram:ShareOwnerAccountId does not apply to ram:GetResourceShares" in wrong_key
    assert "multivalued key aws:TagKeys: use ForAllValues: or ForAnyValue:" in tag_keys
    assert "'WrongType'" in wrong_type and "context/${ContextName}" in wrong_type


def test_lint_asks_for_the_arn_operators_on_arn_keys():
    evaluator = PolicyEvaluator()
    group = own_lineage_group(TRAINING)
    evaluator.add_role(
        "arn:aws:iam::111111111111:role/r",
        [
            {
                "Sid": "StringOnArn",
                "Effect": "Allow",
                "Action": "ram:CreateResourceShare",
                "Resource": "*",
                "Condition": {"StringEquals": {"ram:ResourceArn": group}},
            },
            {
                "Sid": "ArnOnArn",
                "Effect": "Allow",
                "Action": "ram:CreateResourceShare",
                "Resource": "*",
                "Condition": {"ArnEquals": {"ram:ResourceArn": group}},
            },
        ],
    )
    (problem,) = evaluator.lint()
    assert "'StringOnArn'" in problem
    assert "StringEquals on ARN key ram:ResourceArn: use ArnEquals or ArnLike" in problem


def test_granted_actions_are_canonical_and_expand_wildcards(evaluator, training):
    acceptor = role_of(training, ACCEPTOR_HANDLER)
    assert "ram:AcceptResourceShareInvitation" in evaluator.granted_actions(acceptor)
    assert "ram:CreateResourceShare" not in evaluator.granted_actions(acceptor)
    wild = PolicyEvaluator()
    wild.add_role("r", [{"Effect": "Allow", "Action": "RAM:getresourceshare*", "Resource": "*"}])
    assert wild.granted_actions("r") == {
        "ram:GetResourceShareAssociations",
        "ram:GetResourceShareInvitations",
        "ram:GetResourceShares",
    }


def test_statements_iam_cannot_evaluate_are_refused():
    evaluator = PolicyEvaluator()
    with pytest.raises(PolicyError, match="DateLessThan"):
        evaluator.add_role(
            "r",
            [
                {
                    "Effect": "Allow",
                    "Action": "ram:GetResourceShares",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
                }
            ],
        )
    with pytest.raises(PolicyError, match="exactly one of Resource"):
        evaluator.add_role("r", [{"Effect": "Allow", "Action": "ram:GetResourceShares"}])


# ---------------------------------------------------------------- template extraction
def test_every_role_has_resolved_statements(stacks):
    for stack in stacks:
        policies = role_policies(stack)
        roles = [k for k, v in stack.resources.items() if v["Type"] == "AWS::IAM::Role"]
        assert set(policies) == {simulated_role_arn(stack, role) for role in roles}
        text = json.dumps(policies)
        assert "Fn::" not in text and '"Ref"' not in text


def test_resolve_pseudo_parameters_and_resource_arns(training):
    def resolved(value):
        return resolve(value, stack=training, partition="aws-cn")

    parts = ["AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix"]
    joined = {"Fn::Join": ["|", [{"Ref": part} for part in parts]]}
    assert resolved(joined) == f"aws-cn|{REGION}|{TRAINING}|amazonaws.com.cn"
    queue = next(k for k in training.resources if k.startswith("InvitationAcceptorDeadLetters"))
    assert resolved({"Fn::GetAtt": [queue, "Arn"]}) == (
        f"arn:aws-cn:sqs:{REGION}:{TRAINING}:{training.name}-{queue}"
    )
    role = training.handler_role_logical_id(ACCEPTOR_HANDLER)
    assert resolved({"Fn::GetAtt": [role, "Arn"]}) == simulated_role_arn(training, role, "aws-cn")
    # The stack id: the same ARN the rollout driver sends as StackId and GetTemplate knows.
    stack_id = resolved({"Ref": "AWS::StackId"})
    assert stack_id == simulated_stack_id(training, "aws-cn")
    assert stack_id.startswith(
        f"arn:aws-cn:cloudformation:{REGION}:{TRAINING}:stack/{training.name}/"
    )


def test_resolve_names_the_path_of_what_it_cannot_resolve(training):
    with pytest.raises(
        UnresolvableIntrinsic, match=r"Statement\[0\]\.Resource: Fn::Sub is not supported"
    ):
        resolve(
            {"Statement": [{"Resource": {"Fn::Sub": "arn:${AWS::Partition}:x"}}]},
            stack=training,
            partition="aws",
        )
    with pytest.raises(UnresolvableIntrinsic, match="no resource 'Missing'"):
        resolve({"Ref": "Missing"}, stack=training, partition="aws")


# ---------------------------------------------------------------- condition operators
def holds(operator, policy, value=None):
    """Does Condition(operator, "k:Key", policy) hold when the request has `value` (None: the
    key is absent)? The evaluator hands conditions lower-cased keys and tuples of values."""
    values = policy if isinstance(policy, tuple) else (policy,)
    request = {} if value is None else {"k:key": value if isinstance(value, tuple) else (value,)}
    return Condition(operator, "k:Key", values).failure(request) is None


@pytest.mark.parametrize(
    "operator, policy, request_value, expected",
    [
        ("StringEquals", ("a", "b"), "b", True),
        ("StringEquals", "a", "A", False),
        ("StringNotEquals", ("a", "b"), "b", False),
        ("StringNotEquals", ("a", "b"), "c", True),
        ("StringEqualsIgnoreCase", "abc", "ABC", True),
        ("StringNotEqualsIgnoreCase", "abc", "ABC", False),
        ("StringLike", "sm_*", "sm_lineage", True),
        ("StringLike", "sm_?", "sm_ab", False),
        ("StringNotLike", "sm_*", "other", True),
        ("ArnEquals", "arn:aws:ram:*:111111111111:resource-share/*", share(TRAINING), True),
        ("ArnLike", "arn:aws:ram:*:222222222222:*", share(TRAINING), False),
        ("ArnNotEquals", "arn:aws:ram:*:222222222222:*", share(TRAINING), True),
        ("ArnNotLike", "arn:aws:ram:*", share(TRAINING), False),
        ("Bool", "true", "True", True),
        ("Bool", "false", "true", False),
        ("NumericEquals", "3", "3.0", True),
        ("NumericNotEquals", "3", "4", True),
        ("NumericLessThan", "3", "2", True),
        ("NumericLessThanEquals", "3", "3", True),
        ("NumericGreaterThan", "3", "3", False),
        ("NumericGreaterThanEquals", "3", "3", True),
        ("NumericEquals", "3", "three", False),
    ],
)
def test_condition_operator(operator, policy, request_value, expected):
    assert holds(operator, policy, value=request_value) is expected


@pytest.mark.parametrize(
    "operator, expected",
    [
        ("StringEquals", False),
        ("StringEqualsIfExists", True),
        ("StringNotEquals", True),  # negated operators hold when the key is absent
        ("ArnNotLike", True),
        ("NumericLessThan", False),
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringNotEquals", False),
    ],
)
def test_condition_with_the_key_absent(operator, expected):
    assert holds(operator, "a") is expected


def test_if_exists_checks_a_present_key():
    assert holds("StringEqualsIfExists", "a", value="a")
    assert not holds("StringEqualsIfExists", "a", value="b")


def test_null_tests_presence():
    assert holds("Null", "true")
    assert not holds("Null", "true", value="x")
    assert holds("Null", "false", value="x")


@pytest.mark.parametrize(
    "operator, policy, request_values, expected",
    [
        ("ForAllValues:StringEquals", ("a", "b"), ("a", "b"), True),
        ("ForAllValues:StringEquals", ("a", "b"), ("a", "c"), False),
        ("ForAllValues:StringNotEquals", ("a", "b"), ("c", "d"), True),
        ("ForAllValues:StringNotEquals", ("a", "b"), ("a", "d"), False),
        ("ForAnyValue:StringEquals", ("a",), ("x", "a"), True),
        ("ForAnyValue:StringEquals", ("a",), ("x", "y"), False),
        ("ForAnyValue:StringNotLike", ("a*",), ("ab", "x"), True),
        ("ForAnyValue:StringNotLike", ("a*",), ("ab", "ac"), False),
        # Conservative reading of a multivalued value under a single-valued operator.
        ("StringEquals", ("a", "b"), ("a", "b"), True),
        ("StringEquals", ("a",), ("a", "b"), False),
        ("StringNotEquals", ("a",), ("b", "a"), False),
    ],
)
def test_multivalued_request_values(operator, policy, request_values, expected):
    assert holds(operator, policy, value=request_values) is expected


def test_condition_failure_names_operator_key_and_values():
    failure = Condition("StringEquals", "ram:ResourceShareName", (SHARE_NAME,)).failure(
        {"ram:resourcesharename": ("other",)}
    )
    assert failure == (
        "condition StringEquals ram:ResourceShareName 'sm_lineage_sharing' failed: "
        "the request has 'other'"
    )


# ---------------------------------------------------------------- ARN globs
def test_arn_matching_is_per_segment_and_case_sensitive():
    assert arn_matches("*", ANY_RESOURCE)
    assert not arn_matches("arn:aws:ram:*", ANY_RESOURCE)
    assert arn_matches("arn:aws:ram:*:111111111111:resource-share/*", share(TRAINING))
    # A `*` inside a leading segment stays in that segment...
    assert not arn_matches("arn:aws:ram:us-*:resource-share/x", share(TRAINING))
    # ...but a short pattern's trailing `*` runs past the colons.
    assert arn_matches("arn:aws:*", share(TRAINING))
    assert not arn_matches(share(TRAINING).upper(), share(TRAINING))


def test_glob_intersection():
    assert globs_intersect("resource-share/*", "resource-share/*")
    assert globs_intersect("a*c", "ab?")
    assert not globs_intersect("a*c", "b*")
    assert not globs_intersect("context/*", "lineage-group/*")
    assert arn_pattern_can_match_format(
        "arn:aws:logs:us-east-1:1:log-group:g:*",
        "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}",
    )
    assert not arn_pattern_can_match_format(
        "arn:aws:ram:us-east-1:1:resource-share/*",
        "arn:${Partition}:ram:${Region}:${Account}:resource-share-invitation/${ResourcePath}",
    )
