"""Consumer side: accepts AWS RAM invitations for SageMaker lineage groups from allow-listed producers.

`handler` is the Lambda entry (one full sweep per trigger), `decisions` the pure core (accept
this invitation or skip it, and why), `aws_edge` the thin boto3 calls.
"""
