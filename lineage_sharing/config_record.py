"""Which config a cloud assembly was synthesized from.

app.py records the config's path and a digest of its validated content on every stack, as
cloud-assembly metadata (`<stack>.metadata.json`, never in a template, so it deploys nothing).
Every `lineage-sharing` command compares it with the config it is given and refuses a cdk.out
that another config, or an older version of this one, produced.

The digest is of the validated model, not of the file's bytes: a comment or a reordered key
changes nothing that is synthesized, so it does not make cdk.out stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.model import SharingConfig
from config.rollout_plan import is_rollout_stack

METADATA_TYPE = "lineage-sharing:config"


class ConfigRecordError(Exception):
    """cdk.out cannot be matched to the config given."""


def config_digest(config: SharingConfig) -> str:
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ConfigRecord:
    sha256: str
    path: str | None  # as given to the app (`-c config=...`); None when synthesized in process
    absolute_path: str | None = None

    @classmethod
    def of(cls, config: SharingConfig, path: str | Path | None) -> ConfigRecord:
        absolute = str(Path(path).resolve()) if path is not None else None
        return cls(config_digest(config), str(path) if path is not None else None, absolute)

    def to_metadata(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "path": self.path, "absolutePath": self.absolute_path}

    @classmethod
    def from_metadata(cls, data: Any) -> ConfigRecord:
        if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
            raise ConfigRecordError(f"unreadable {METADATA_TYPE} metadata: {data!r}")
        return cls(data["sha256"], data.get("path"), data.get("absolutePath"))


def record_config(stack: Any, record: ConfigRecord) -> None:
    """Attach the record to a stack (any construct with a `node`), for read_config_records."""
    stack.node.add_metadata(METADATA_TYPE, record.to_metadata())


def read_config_records(cdk_out: Path) -> dict[str, ConfigRecord | None]:
    """stack name -> the config record synthesized with it (None: the stack has none)."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    records: dict[str, ConfigRecord | None] = {}
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact["type"] != "aws:cloudformation:stack" or is_rollout_stack(name):
            continue
        # Newer cloud assemblies move metadata into a file of its own; older ones inline it.
        metadata = artifact.get("metadata", {})
        if "additionalMetadataFile" in artifact:
            metadata = json.loads((cdk_out / artifact["additionalMetadataFile"]).read_text())
        entries = [
            entry["data"]
            for path, path_entries in metadata.items()
            if path == f"/{name}"
            for entry in path_entries
            if entry.get("type") == METADATA_TYPE
        ]
        records[name] = ConfigRecord.from_metadata(entries[-1]) if entries else None
    return records


def matching_record(
    records: dict[str, ConfigRecord | None], config: SharingConfig, config_path: str
) -> ConfigRecord:
    """The record every stack carries, if it is this config's; else why cdk.out does not fit."""
    synth = f"npx cdk synth -c config={config_path}"
    if not records:
        raise ConfigRecordError(f"cdk.out has no stacks; run `{synth}`")
    unrecorded = sorted(name for name, record in records.items() if record is None)
    if unrecorded:
        raise ConfigRecordError(
            f"cdk.out does not say which config {unrecorded[0]} was synthesized from (an older "
            f"version of this app, or another app); run `{synth}`"
        )
    recorded = {record for record in records.values() if record is not None}
    digest = config_digest(config)
    if {record.sha256 for record in recorded} == {digest}:
        return next(iter(recorded))
    other = next(record for record in recorded if record.sha256 != digest)
    if other.absolute_path and other.absolute_path == str(Path(config_path).resolve()):
        raise ConfigRecordError(
            f"{config_path} changed since cdk.out was synthesized from it; run `{synth}`"
        )
    source = other.path or "a config given in process"
    raise ConfigRecordError(
        f"cdk.out was synthesized from {source} (sha256 {other.sha256[:12]}), not from "
        f"{config_path} (sha256 {digest[:12]}); run `{synth}`"
        + (f", or pass --config {other.path}" if other.path else "")
    )
