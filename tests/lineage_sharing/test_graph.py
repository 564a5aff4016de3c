"""The mesh picture: one box per stack by region, one colored arrow per pair."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lineage_sharing import graph
from lineage_sharing.cloud_assembly import read_cloud_assembly

NAMES = {"111111111111": "training", "222222222222": "staging", "333333333333": "production"}
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def stacks(example_app):
    return read_cloud_assembly(example_app.outdir)


def test_mermaid_colors_each_pair_by_its_state(stacks):
    states = {
        ("111111111111", "222222222222", "us-east-1"): "readable",
        ("222222222222", "111111111111", "us-east-1"): "failing",
        ("333333333333", "111111111111", "us-east-1"): "pending",
    }

    picture = graph.render(stacks, NAMES, states=states)

    edges = re.findall(r"^  (n\d) -->\|(\w+)\| (n\d)$", picture, re.MULTILINE)
    styles = re.findall(r"^  linkStyle (\d+) stroke:(#\w+)", picture, re.MULTILINE)
    assert len(edges) == 6 and len(styles) == 6
    color_of = {state: color for state, (color, _) in graph.STYLES.items()}
    for (_, state, _), (_, color) in zip(edges, styles, strict=True):
        assert color == color_of[state]
    assert sorted(state for _, state, _ in edges) == sorted(
        ["readable", "failing", "pending", "planned", "planned", "planned"]
    )
    assert 'subgraph us_east_1["us-east-1"]' in picture
    assert 'n2["training<br/>111111111111"]' in picture


def test_dot_has_the_same_pairs_with_colors_and_clusters(stacks):
    picture = graph.render(stacks, NAMES, fmt="dot", caption="config: x")
    assert picture.startswith("// config: x\ndigraph lineage_sharing {")
    assert "subgraph cluster_us_east_1 {" in picture
    assert picture.count('[label="planned", color="#546e7a"') == 6
    assert picture.rstrip().endswith("}")


def test_the_format_follows_the_file_suffix():
    assert graph.format_for(Path("a.mmd")) == "mermaid"
    assert graph.format_for(Path("a.md")) == "markdown"
    assert graph.format_for(Path("a.gv")) == "dot"
    with pytest.raises(ValueError, match="cannot tell the picture format"):
        graph.format_for(Path("a.png"))


def test_the_readme_embeds_the_example_picture_after_the_simulated_rollout(
    stacks, simulated_example
):
    states = graph.states_from_status(simulated_example, simulated_example["config"]["sha256"])
    expected = graph.render(stacks, NAMES, states=states, fmt="markdown")

    assert expected in README.read_text(), "README: paste `lineage-sharing graph` output again"
