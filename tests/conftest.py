"""Session-wide fixtures: the example app is synthesized once per test run."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template  # noqa: E402

import app as cdk_app  # noqa: E402
from config.model import SharingConfig, load_config  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
# Session fixtures of organization mode (config/example-organization.yaml).
pytest_plugins = ["tests.organization_configs"]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "example.yaml"


@dataclass
class SynthesizedApp:
    config: SharingConfig
    outdir: Path
    templates: dict[str, dict]  # stack name -> CloudFormation template
    assertions: dict[str, Template]  # stack name -> aws_cdk.assertions.Template

    def template_path(self, stack_name: str) -> Path:
        return self.outdir / f"{stack_name}.template.json"


def synthesize(
    config: SharingConfig, outdir: Path, config_path: Path | None = None
) -> SynthesizedApp:
    app, stacks = cdk_app.synthesize_in_process(config, outdir, config_path)
    templates = {
        stack.stack_name: json.loads((outdir / stack.template_file).read_text()) for stack in stacks
    }
    assertions = {name: Template.from_json(template) for name, template in templates.items()}
    return SynthesizedApp(config, outdir, templates, assertions)


@pytest.fixture(scope="session")
def example_config() -> SharingConfig:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def example_app(example_config, tmp_path_factory) -> SynthesizedApp:
    return synthesize(example_config, tmp_path_factory.mktemp("cdk.out"), EXAMPLE_CONFIG)


HUB_AND_SPOKE = {
    "share_name": "central_lineage",
    "accounts": [
        {
            "id": "444444444444",
            "name": "governance",
            "region": "eu-west-1",
            "query_role": {
                "assumable_by": ["arn:aws:iam::444444444444:role/LineageAuditors"],
                "association_writes": True,
            },
        },
        {"id": "555555555555", "name": "team-a", "regions": ["eu-west-1", "us-west-2"]},
        {"id": "666666666666", "name": "team-b", "region": "eu-west-1"},
    ],
    "topology": {"type": "hub-and-spoke", "hub": "governance", "direction": "spokes-to-hub"},
    "sweep_interval_minutes": 30,
    "bootstrap_lineage_group": False,
    # An existing topic (of a central operations account) rather than one per stack.
    "alarm_notifications": {"topic_arns": ["arn:aws:sns:eu-west-1:999999999999:ml-alarms"]},
}


@pytest.fixture(scope="session")
def hub_app(tmp_path_factory) -> SynthesizedApp:
    """Spokes only produce, the hub only consumes: exercises stacks with one part each."""
    from config.model import parse_config

    return synthesize(parse_config(HUB_AND_SPOKE), tmp_path_factory.mktemp("cdk.out.hub"))


@pytest.fixture(scope="session")
def synthesize_config(tmp_path_factory):
    """synthesize_config(raw config dict) -> SynthesizedApp, synthesized once per session."""
    from config.model import parse_config

    built: dict[str, SynthesizedApp] = {}

    def build(raw: dict) -> SynthesizedApp:
        key = json.dumps(raw, sort_keys=True)
        if key not in built:
            built[key] = synthesize(parse_config(raw), tmp_path_factory.mktemp("cdk.out.variant"))
        return built[key]

    return build


# ---------------------------------------------------------------------------- rollout (pipeline)
PIPELINE_CONFIG = REPO_ROOT / "config" / "example-pipeline.yaml"
ROLLOUT = yaml.safe_load(PIPELINE_CONFIG.read_text())
PIPELINE_ACCOUNT = ROLLOUT["rollout"]["pipeline"]["account"]
CONNECTION_ARN = ROLLOUT["rollout"]["pipeline"]["source"]["connection"]["arn"]


@dataclass
class AssembledStack:
    name: str  # the CloudFormation stack name
    account: str
    region: str
    template: dict
    assembly: str  # "" for a top-level stack, else the nested (CDK Stage) assembly folder
    artifact: dict  # its manifest entry


@dataclass
class CloudAssembly:
    """Every stack of a synthesized app, those in nested (CDK Stage) assemblies included."""

    outdir: Path
    app: object  # the aws_cdk.App, for checks on the construct tree
    stacks: list[AssembledStack]

    def top_level(self, name: str) -> AssembledStack:
        (found,) = [s for s in self.stacks if s.name == name and not s.assembly]
        return found

    def in_stage(self, name: str) -> AssembledStack:
        (found,) = [s for s in self.stacks if s.name == name and s.assembly]
        return found

    def named(self, prefix: str) -> list[AssembledStack]:
        return [s for s in self.stacks if s.name.startswith(prefix)]


def read_assembly(outdir: Path, app: object) -> CloudAssembly:
    stacks: list[AssembledStack] = []

    def read(folder: Path, assembly: str) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        for artifact_id, artifact in manifest["artifacts"].items():
            if artifact["type"] == "aws:cloudformation:stack":
                properties = artifact["properties"]
                _, account, region = artifact["environment"].rsplit("/", 2)
                stacks.append(
                    AssembledStack(
                        name=properties.get("stackName", artifact_id),
                        account=account,
                        region=region,
                        template=json.loads((folder / properties["templateFile"]).read_text()),
                        assembly=assembly,
                        artifact=artifact,
                    )
                )
            elif artifact["type"] == "cdk:cloud-assembly":
                directory = artifact["properties"]["directoryName"]
                read(folder / directory, directory)

    read(outdir, "")
    return CloudAssembly(outdir, app, stacks)


@pytest.fixture(scope="session")
def rollout_config() -> SharingConfig:
    return load_config(PIPELINE_CONFIG)


@pytest.fixture(scope="session")
def rollout_app(rollout_config, tmp_path_factory) -> CloudAssembly:
    """config/example-pipeline.yaml synthesized once: the per-account stacks, the pipeline
    (with the same stacks in its CDK Stages), its support stack and the execution policies."""
    outdir = tmp_path_factory.mktemp("cdk.out.rollout")
    app, _ = cdk_app.synthesize_in_process(rollout_config, outdir, PIPELINE_CONFIG)
    return read_assembly(outdir, app)


# ---------------------------------------------------------------------------- rollout (StackSet)
STACK_SET_CONFIG = REPO_ROOT / "config" / "example-stackset.yaml"


@pytest.fixture(scope="session")
def stackset_config() -> SharingConfig:
    return load_config(STACK_SET_CONFIG)


@pytest.fixture(scope="session")
def stackset_app(stackset_config, tmp_path_factory) -> CloudAssembly:
    """config/example-stackset.yaml synthesized once: the StackSet stack (with its member
    template and the member's asset manifest), the regional code buckets, the listed accounts'
    stacks, the management account's organization stack and the execution policies."""
    outdir = tmp_path_factory.mktemp("cdk.out.stackset")
    app, _ = cdk_app.synthesize_in_process(stackset_config, outdir, STACK_SET_CONFIG)
    return read_assembly(outdir, app)
