"""Plain text for terminal output: tables with left-aligned columns under a dashed header rule,
and accounts as people recognise them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def account_label(account: str, names: Mapping[str, str]) -> str:
    """`training (111111111111)`, or the id alone when the config does not name it."""
    return f"{names[account]} ({account})" if account in names else account
