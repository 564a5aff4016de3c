"""How cdk-nag names a finding's resource, so an acknowledgment matches exactly one finding.

With `@aws-cdk/core:enablePartitionLiterals` (a recommended feature flag) a stack whose region
is known renders its partition as a literal ("aws", "aws-cn"); otherwise the ARN carries the
`AWS::Partition` pseudo parameter, which cdk-nag prints as `<AWS::Partition>`.
"""

from __future__ import annotations

from aws_cdk import Stack, Token


def finding_partition(stack: Stack) -> str:
    partition = stack.partition
    return "<AWS::Partition>" if Token.is_unresolved(partition) else partition


def finding_region(stack: Stack) -> str:
    """An environment-agnostic stack (a StackSet template) has `AWS::Region` in its ARNs."""
    return "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region


def finding_account(stack: Stack) -> str:
    return "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
