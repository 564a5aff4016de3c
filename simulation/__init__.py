"""Offline multi-account simulation of the AWS RAM and SageMaker lineage subset (test support).

Never shipped into a Lambda asset. The fake answers real boto3 clients through botocore's
event hooks, so the handlers run unchanged; `iam` evaluates the synthesized role policies for
every call; `rollout` drives the stacks' handlers with events built from the templates.
"""
