"""Custom resource handler that shares this account's default SageMaker lineage group via AWS RAM.

`handler` is the Provider framework entry (on_event, is_complete), `decisions` the pure core
(what to do, given the request and the observed state), `aws_edge` the thin boto3 calls.
"""
