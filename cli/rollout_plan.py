"""Print what `cdk deploy` would put where, read back from the synthesized cloud assembly.

Usage: python -m cli.rollout_plan [--config PATH] [--cdk-out DIR]
The table comes from the templates in cdk.out, not from the config alone, so it shows what
was actually synthesized: which stacks share, with whom, and whom each acceptor trusts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.cloud_assembly import SynthesizedStack, read_cloud_assembly
from cli.text_table import render_table
from config.model import ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parent.parent


def render(stacks: list[SynthesizedStack], names: dict[str, str]) -> str:
    def who(ids: tuple[str, ...]) -> str:
        return ", ".join(f"{names.get(i, '?')} ({i})" for i in ids) or "-"

    header = (
        "stack",
        "account",
        "region",
        "shares its lineage group with",
        "accepts invitations from",
    )
    rows = [
        (
            s.name,
            f"{names.get(s.account, '?')} ({s.account})",
            s.region,
            who(s.shares_with),
            who(s.accepts_from),
        )
        for s in stacks
    ]
    lines = [render_table(header, rows), ""]
    lines.append("Deploy each account with its own credentials, consumers first, e.g.:")
    lines += [
        f"  npx cdk deploy {s.name}" for s in sorted(stacks, key=lambda s: bool(s.shares_with))
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO_ROOT / "config" / "example.yaml"))
    parser.add_argument("--cdk-out", default=str(REPO_ROOT / "cdk.out"))
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    cdk_out = Path(args.cdk_out)
    if not (cdk_out / "manifest.json").exists():
        print(f"error: {cdk_out} has no cloud assembly; run `npx cdk synth` first", file=sys.stderr)
        return 1
    names = {account.id: account.name for account in config.accounts}
    print(render(read_cloud_assembly(cdk_out), names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
