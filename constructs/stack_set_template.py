"""A stack synthesized only as a StackSet's template, with its file assets in regional buckets.

Why not cdklabs `cdk-stacksets`: its synthesizer copies each asset into the buckets with a
BucketDeployment (one more custom resource and Lambda in the administrator account) and names
the object after the staged file name, while the BucketDeployment uploads it under a freshly
computed content hash. Since aws-cdk-lib 2.258 the framework-provided custom resource handlers
(the Provider framework's onEvent function here) are staged with a fixed asset hash, so the
two differ and every stack instance fails with S3 NoSuchKey (cdklabs/cdk-stacksets#895).

Here one value names each object: the asset's `source_hash`. The template's S3Key is
`<source_hash>.zip` in the bucket `<prefix><AWS::Region>` (so one template serves every
region), and the asset manifest this synthesizer writes publishes the staged file under
exactly that key into every region's bucket (`cdk-assets publish`, README "StackSet path").
The template itself becomes a file asset of the parent stack, so `cdk deploy` of the parent
uploads it to the parent's bootstrap bucket and the StackSet's TemplateURL points there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    FileAssetLocation,
    FileAssetPackaging,
    FileAssetSource,
    Fn,
    IResolveContext,
    IStringProducer,
    ISynthesisSession,
    Lazy,
    RemovalPolicy,
    Stack,
    StackSynthesizer,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import cloud_assembly_schema as assembly_schema
from constructs import Construct

# FileAssetPackaging's members as the asset manifest spells them.
MANIFEST_PACKAGING = {
    FileAssetPackaging.ZIP_DIRECTORY: "zip",
    FileAssetPackaging.FILE: "file",
}


def object_key(source: FileAssetSource) -> str:
    """The one key of an asset: in the template and in every bucket the manifest fills."""
    if source.packaging == FileAssetPackaging.ZIP_DIRECTORY:
        return f"{source.source_hash}.zip"
    return f"{source.source_hash}{PurePosixPath(source.file_name or '').suffix}"


@jsii.implements(IStringProducer)
class _TemplateUrl:
    def __init__(self) -> None:
        self.url: str | None = None

    def produce(self, context: IResolveContext) -> str | None:
        # CDK resolves templates more than once; before the member stack is synthesized (it
        # is, before its parent's template is written) there is no URL yet.
        return self.url


class StackSetTemplateSynthesizer(StackSynthesizer):
    """Synthesizes its stack into a template file and an asset manifest, not a stack artifact.

    `bucket_prefix` + region names each region's asset bucket (the template resolves the region
    with `AWS::Region`); `regions` are the buckets the manifest publishes to.
    """

    def __init__(self, *, parent: Stack, bucket_prefix: str, regions: Sequence[str]) -> None:
        super().__init__()
        self._parent = parent
        self._bucket_prefix = bucket_prefix
        self._regions = tuple(regions)
        self._assets: list[FileAssetSource] = []
        self._template_url = _TemplateUrl()
        self.template_url = Lazy.uncached_string(self._template_url)
        self.asset_manifest_file: str | None = None

    def add_file_asset(self, asset: FileAssetSource) -> FileAssetLocation:
        if asset.file_name is None or asset.executable is not None:
            raise ValueError(
                "a StackSet template can only carry file assets staged as files or folders; "
                f"asset {asset.source_hash} is built by a command"
            )
        if all(known.source_hash != asset.source_hash for known in self._assets):
            self._assets.append(asset)
        key = object_key(asset)
        bucket = Fn.sub(f"{self._bucket_prefix}${{AWS::Region}}")
        return FileAssetLocation(
            bucket_name=bucket,
            object_key=key,
            http_url=Fn.sub(
                f"https://s3.${{AWS::Region}}.${{AWS::URLSuffix}}/{self._bucket_prefix}"
                f"${{AWS::Region}}/{key}"
            ),
            s3_object_url=Fn.sub(f"s3://{self._bucket_prefix}${{AWS::Region}}/{key}"),
        )

    def add_docker_image_asset(self, asset: Any) -> Any:
        raise ValueError("a StackSet template here carries no container images")

    def synthesize(self, session: ISynthesisSession) -> None:
        # The template only: no stack artifact, so `cdk deploy` never deploys it directly.
        self._synthesize_template(session)
        stack = self._bound_stack
        outdir = Path(session.assembly.outdir)
        template = outdir / stack.template_file
        location = self._parent.synthesizer.add_file_asset(
            packaging=FileAssetPackaging.FILE,
            source_hash=hashlib.sha256(template.read_bytes()).hexdigest(),
            file_name=stack.template_file,
            display_name=f"{stack.stack_name} StackSet template",
        )
        self._template_url.url = location.http_url
        self.asset_manifest_file = f"{stack.artifact_id}.stackset-assets.json"
        (outdir / self.asset_manifest_file).write_text(
            json.dumps(self.asset_manifest(), indent=1) + "\n"
        )

    def asset_manifest(self) -> dict[str, Any]:
        """cdk-assets' manifest: every asset into every region's bucket, under its one key.

        No `assumeRoleArn`: cdk-assets publishes with the caller's credentials (the
        administrator account's), each destination with a client of its own region.
        """
        return {
            "version": assembly_schema.Manifest.version(),
            "files": {
                asset.source_hash: {
                    "displayName": asset.display_name or asset.source_hash,
                    "source": {
                        "path": asset.file_name,
                        "packaging": MANIFEST_PACKAGING[asset.packaging or FileAssetPackaging.FILE],
                    },
                    "destinations": {
                        region: {
                            "bucketName": f"{self._bucket_prefix}{region}",
                            "objectKey": object_key(asset),
                            "region": region,
                        }
                        for region in self._regions
                    },
                }
                for asset in sorted(self._assets, key=lambda a: a.source_hash)
            },
            "dockerImages": {},
        }


class OrganizationReadableBucket(Construct):
    """A bucket whose objects every principal of the organization may read, and no one else.

    The StackSets execution role of each member account creates the member stack's functions;
    Lambda reads their code from a bucket of the function's own region with that caller's
    permissions. SSE-S3, not KMS: an AWS managed key cannot be used across accounts.
    """

    def __init__(self, scope: Construct, id_: str, *, bucket_name: str, organization_id: str):
        super().__init__(scope, id_)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # A member stack being created or updated still reads its code: never delete it
            # with the stack (README "Teardown": empty and delete it by hand).
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OrganizationReadsLambdaCode",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:PrincipalOrgID": organization_id}},
            )
        )
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="Holds only the member stack's Lambda code, written by cdk-assets from "
                "the administrator account and read by the organization's StackSets execution "
                "roles; CloudTrail records the writes. A log bucket per region would add a "
                "second bucket to every region for no decision anyone makes from it.",
            )
        )
