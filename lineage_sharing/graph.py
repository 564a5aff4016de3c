"""The sharing mesh as a picture: Mermaid (renders in GitHub, GitLab and most Markdown viewers)
or Graphviz dot. One box per stack, grouped by region; one arrow per producer→consumer pair,
colored by its state from a status check, or `planned` when nothing was checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage_sharing.cloud_assembly import SynthesizedStack, directed_pairs

PLANNED = "planned"
# state -> (color, dashed): green works, amber is on its way, red needs someone, grey unknown.
STYLES = {
    "readable": ("#2e7d32", False),
    "pending": ("#f9a825", False),
    "failing": ("#c62828", False),
    "unknown": ("#757575", True),
    PLANNED: ("#546e7a", True),
}
FORMATS = ("mermaid", "markdown", "dot")
_SUFFIXES = {
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".md": "markdown",
    ".dot": "dot",
    ".gv": "dot",
}

PairKey = tuple[str, str, str]  # (producer account, consumer account, region)


@dataclass(frozen=True)
class _Edge:
    producer: str  # node id
    consumer: str
    state: str


def states_from_status(document: Any, config_sha256: str) -> dict[PairKey, str]:
    """Each pair's state from `status --json` (or `simulate --json`) output, which must have been
    checked against the same config (its sha256)."""
    try:
        recorded = document["config"]["sha256"]
        pairs = document["pairs"]
        states = {
            (p["producer"]["account"], p["consumer"]["account"], p["region"]): p["state"]
            for p in pairs
        }
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a `status --json` output (no {error})") from None
    if recorded != config_sha256:
        raise ValueError(
            f"checked against another config (sha256 {recorded[:12]}, not "
            f"{config_sha256[:12]}); check again"
        )
    unknown = sorted(set(states.values()) - set(STYLES))
    if unknown:
        raise ValueError(f"unknown pair states {unknown}")
    return states


def format_for(path: Path) -> str:
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"{path}: cannot tell the picture format from {path.suffix or 'no suffix'!r}; "
            f"use one of {', '.join(sorted(_SUFFIXES))} or pass --format"
        ) from None


def render(
    stacks: Sequence[SynthesizedStack],
    names: Mapping[str, str],
    *,
    states: Mapping[PairKey, str] | None = None,
    fmt: str = "mermaid",
    caption: str = "",
) -> str:
    """The picture; `states` maps each pair to its status state (absent: planned)."""
    nodes = {stack.name: f"n{index}" for index, stack in enumerate(stacks)}
    edges = [
        _Edge(
            nodes[producer.name],
            nodes[consumer.name],
            (states or {}).get((producer.account, consumer.account, producer.region), PLANNED),
        )
        for producer, consumer in directed_pairs(stacks)
    ]
    regions: dict[str, list[SynthesizedStack]] = {}
    for stack in stacks:
        regions.setdefault(stack.region, []).append(stack)
    if fmt == "dot":
        return _dot(regions, nodes, edges, names, caption)
    mermaid = _mermaid(regions, nodes, edges, names, caption)
    if fmt == "markdown":
        title = f"{caption}\n\n" if caption else ""
        return f"{title}```mermaid\n{mermaid}\n```"
    if fmt != "mermaid":
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    return mermaid


def _node_label(stack: SynthesizedStack, names: Mapping[str, str]) -> tuple[str, str]:
    return names.get(stack.account, stack.account), stack.account


def _mermaid(regions, nodes, edges, names, caption: str) -> str:
    lines = [f"%% {caption}"] if caption else []
    lines.append("flowchart LR")
    for region, stacks in sorted(regions.items()):
        lines.append(f'  subgraph {_identifier(region)}["{region}"]')
        for stack in stacks:
            name, account = _node_label(stack, names)
            lines.append(f'    {nodes[stack.name]}["{name}<br/>{account}"]')
        lines.append("  end")
    for edge in edges:
        lines.append(f"  {edge.producer} -->|{edge.state}| {edge.consumer}")
    for index, edge in enumerate(edges):
        color, dashed = STYLES[edge.state]
        dash = ",stroke-dasharray:5 5" if dashed else ""
        lines.append(f"  linkStyle {index} stroke:{color},stroke-width:2px,color:{color}{dash}")
    return "\n".join(lines)


def _dot(regions, nodes, edges, names, caption: str) -> str:
    lines = [f"// {caption}"] if caption else []
    lines += ["digraph lineage_sharing {", "  rankdir=LR;", '  node [shape=box, style="rounded"];']
    for region, stacks in sorted(regions.items()):
        lines.append(f"  subgraph cluster_{_identifier(region)} {{")
        lines.append(f'    label="{region}";')
        for stack in stacks:
            name, account = _node_label(stack, names)
            lines.append(f'    {nodes[stack.name]} [label="{name}\\n{account}"];')
        lines.append("  }")
    for edge in edges:
        color, dashed = STYLES[edge.state]
        style = ', style="dashed"' if dashed else ""
        lines.append(
            f'  {edge.producer} -> {edge.consumer} [label="{edge.state}", color="{color}", '
            f'fontcolor="{color}"{style}];'
        )
    lines.append("}")
    return "\n".join(lines)


def _identifier(text: str) -> str:
    return re.sub(r"\W", "_", text)
