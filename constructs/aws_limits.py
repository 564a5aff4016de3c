"""AWS limits a synthesized stack must fit at deploy time, which cfn-lint does not check.

Plain numbers, no CDK import: the constructs lay their policies out within them, config
validation refuses configs that cannot fit them, and `lineage_sharing.deploy_limits` measures every
synthesized template against them. Sources: the IAM, Lambda, EventBridge, CloudFormation,
Systems Manager and Step Functions quotas pages (FACTS.md, Corrections).
"""

from __future__ import annotations

# IAM counts policy size on the policy text without whitespace.
IAM_INLINE_POLICIES_PER_ROLE_CHARS = 10_240  # all inline policies of one role, summed
IAM_MANAGED_POLICY_CHARS = 6_144  # each customer managed policy
IAM_MANAGED_POLICIES_PER_ROLE = 10  # default quota (adjustable to 20)
IAM_TRUST_POLICY_CHARS = 2_048  # a role's assume-role policy (default quota)

LAMBDA_ENVIRONMENT_BYTES = 4_096  # all environment variables of one function, in aggregate
EVENTBRIDGE_TARGET_INPUT_CHARS = 8_192  # the constant Input of one rule target
CUSTOM_RESOURCE_RESPONSE_BYTES = 4_096  # the response body a custom resource sends back
# The Provider framework passes the CloudFormation request through a Step Functions waiter,
# whose state input is limited to 256 KiB.
CUSTOM_RESOURCE_REQUEST_BYTES = 262_144

CLOUDFORMATION_TEMPLATE_BYTES = 1_048_576  # template body uploaded through S3
CLOUDFORMATION_RESOURCES = 500
CLOUDFORMATION_OUTPUTS = 200
CLOUDFORMATION_PARAMETERS = 200

SSM_STANDARD_PARAMETER_VALUE_CHARS = 4_096  # standard tier (advanced: 8 KB, and it costs)
