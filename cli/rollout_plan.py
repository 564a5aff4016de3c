"""Print what `cdk deploy` would put where, read back from the synthesized cloud assembly.

Usage: python -m cli.rollout_plan [--config PATH] [--cdk-out DIR]
The table comes from the templates in cdk.out, not from the config alone, so it shows what
was actually synthesized: which stacks share, with whom, and whom each acceptor trusts.
"""

from __future__ import annotations

import sys

from cli.cloud_assembly import SynthesizedStack, command_inputs
from cli.text_table import render_table


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
    inputs = command_inputs(__doc__.splitlines()[0], argv)
    if inputs is None:
        return 1
    print(render(inputs.stacks, inputs.names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
