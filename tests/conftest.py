"""Session-wide fixtures: each app is synthesized once per test run, whatever the workers.

`make test` runs pytest-xdist workers, and each worker builds the session fixtures its tests
need. An app synthesized from a config is therefore built by the first worker that needs it,
into a folder every worker of the run shares, and read from there by the others
(`shared_synthesis`). The rollout app's tests also need its construct tree, which only lives
in the process that built it: their files run on one worker (`pytest_collection_modifyitems`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    _, stacks = cdk_app.synthesize_in_process(config, outdir, config_path)
    return synthesized_app(config, outdir, [(s.stack_name, s.template_file) for s in stacks])


def synthesized_app(
    config: SharingConfig, outdir: Path, stack_files: list[tuple[str, str]]
) -> SynthesizedApp:
    """The app in `outdir`, given its stacks' (name, template file) in the order they were built."""
    templates = {name: json.loads((outdir / file).read_text()) for name, file in stack_files}
    assertions = {name: Template.from_json(template) for name, template in templates.items()}
    return SynthesizedApp(config, outdir, templates, assertions)


SharedSynthesis = Callable[[str, SharingConfig, "Path | None"], SynthesizedApp]


@contextmanager
def _exclusively(lock_file: Path) -> Iterator[None]:
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


@pytest.fixture(scope="session")
def shared_synthesis(tmp_path_factory) -> SharedSynthesis:
    """shared_synthesis(name, config, config_path) -> the app synthesized once per run.

    Without xdist, this process synthesizes into its own temporary folder. Under xdist, the
    first worker asking for `name` synthesizes it (holding a lock, so the others wait rather
    than build it too) into the run's shared folder and records its stacks; later workers read
    the same cloud assembly. A synthesis that fails records nothing: the next worker tries
    again, and fails the same way.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return lambda name, config, config_path=None: synthesize(
            config, tmp_path_factory.mktemp(name), config_path
        )
    # The run's own folder, above every worker's: pytest makes a new one for each run, so
    # nothing an earlier run built (from older sources) is ever read.
    shared = tmp_path_factory.getbasetemp().parent / "shared-synthesis"
    shared.mkdir(exist_ok=True)

    def build(name: str, config: SharingConfig, config_path: Path | None = None) -> SynthesizedApp:
        outdir, stacks_file = shared / name, shared / f"{name}.stacks.json"
        with _exclusively(shared / f"{name}.lock"):
            if not stacks_file.exists():
                shutil.rmtree(outdir, ignore_errors=True)  # what a failed attempt left
                _, stacks = cdk_app.synthesize_in_process(config, outdir, config_path)
                stack_files = [(stack.stack_name, stack.template_file) for stack in stacks]
                stacks_file.write_text(json.dumps(stack_files))
        return synthesized_app(config, outdir, json.loads(stacks_file.read_text()))

    return build


@pytest.fixture(scope="session")
def example_config() -> SharingConfig:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def example_app(example_config, shared_synthesis) -> SynthesizedApp:
    return shared_synthesis("cdk.out", example_config, EXAMPLE_CONFIG)


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
def hub_app(shared_synthesis) -> SynthesizedApp:
    """Spokes only produce, the hub only consumes: exercises stacks with one part each."""
    from config.model import parse_config

    return shared_synthesis("cdk.out.hub", parse_config(HUB_AND_SPOKE))


@pytest.fixture(scope="session")
def synthesize_config(shared_synthesis):
    """synthesize_config(raw config dict) -> SynthesizedApp, synthesized once per run."""
    from config.model import parse_config

    built: dict[str, SynthesizedApp] = {}

    def build(raw: dict) -> SynthesizedApp:
        key = json.dumps(raw, sort_keys=True)
        if key not in built:
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            built[key] = shared_synthesis(f"cdk.out.variant-{digest}", parse_config(raw))
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


# ---------------------------------------------------------------------------- xdist scheduling
# The test files that use `rollout_app`. Its checks of the construct tree need the App object,
# which only the process that synthesized it has, so these files form one work unit: one
# worker synthesizes the rollout app (the largest of the suite) once, for all of them.
ROLLOUT_APP_FILES = frozenset(
    {
        "tests/codebuild/test_cdk_assets.py",
        "tests/stacks/test_execution_policy_stack.py",
        "tests/stacks/test_pipeline_stack.py",
        "tests/stacks/test_rollout_quality.py",
    }
)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown under `-p no:xdist`
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, except that the `ROLLOUT_APP_FILES` go to one worker together."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class RolloutAppTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "rollout_app" if path in ROLLOUT_APP_FILES else path

    return RolloutAppTogether(config, log)


def pytest_collection_modifyitems(config, items):
    """Keep `ROLLOUT_APP_FILES` complete: a file left out would synthesize the app again."""
    unlisted = sorted(
        {
            item.nodeid.split("::", 1)[0]
            for item in items
            if "rollout_app" in getattr(item, "fixturenames", ())
        }
        - ROLLOUT_APP_FILES
    )
    if unlisted:
        raise pytest.UsageError(
            f"{', '.join(unlisted)} use rollout_app: add them to ROLLOUT_APP_FILES in tests/conftest.py"
        )
