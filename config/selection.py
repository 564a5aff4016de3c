"""Which stacks one synthesis builds: `-c stacks=...`, `-c accounts=...`, `-c regions=...`.

`cdk deploy <stack>` still runs the whole app, and the app cannot see which stacks the CLI was
asked for, so a 500-account config would build 500 stacks to deploy one. These context
selectors let the app build only what is asked for. Every plan is still derived from the whole
config (whom a stack shares with and accepts from), so a selected stack is identical to the
same stack in a full synthesis.

Each selector is a comma-separated list; given together, a stack must match all of them.
A name that matches nothing is an error that lists the nearest names, so a typo never
silently deploys nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from config.model import StackPlan

SELECTOR_KEYS = ("stacks", "accounts", "regions")
_NO_STACK = {
    "stacks": "this config has no stack named {name}",
    "accounts": "no stack of this config belongs to account {name}",
    "regions": "no stack of this config is in region {name}",
}


class SelectionError(ValueError):
    """A selector names something the config does not have, or selects no stack at all."""


@dataclass(frozen=True)
class StackSelection:
    stacks: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # account names or 12-digit ids
    regions: tuple[str, ...] = ()

    @classmethod
    def from_context(cls, get_context: Callable[[str], Any]) -> StackSelection:
        """Read the selectors from CDK context (`-c stacks=a,b` gives the string "a,b")."""
        return cls(**{key: _names(key, get_context(key)) for key in SELECTOR_KEYS})

    @property
    def everything(self) -> bool:
        return not (self.stacks or self.accounts or self.regions)

    def apply(self, plans: Sequence[StackPlan]) -> list[StackPlan]:
        """The selected plans, in config order; raises SelectionError naming what is wrong."""
        if self.everything:
            return list(plans)
        problems = [
            *_unknown("stacks", self.stacks, [p.stack_name for p in plans]),
            *_unknown(
                "accounts",
                self.accounts,
                [p.account.name for p in plans],
                also_known=[p.account.id for p in plans],
            ),
            *_unknown("regions", self.regions, [p.region for p in plans]),
        ]
        if problems:
            raise SelectionError("\n  - ".join(["invalid stack selection", *problems]))
        selected = [plan for plan in plans if self._matches(plan)]
        if not selected:
            raise SelectionError(
                f"the selection {self._describe()} matches no stack of this config "
                "(a stack must match every selector given)"
            )
        return selected

    def _matches(self, plan: StackPlan) -> bool:
        return (
            (not self.stacks or plan.stack_name in self.stacks)
            and (
                not self.accounts
                or plan.account.name in self.accounts
                or plan.account.id in self.accounts
            )
            and (not self.regions or plan.region in self.regions)
        )

    def _describe(self) -> str:
        return " ".join(
            f"-c {key}={','.join(values)}"
            for key in SELECTOR_KEYS
            if (values := getattr(self, key))
        )


def _names(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, list):  # a JSON list in cdk.json or cdk.context.json
        items = value
    else:
        raise SelectionError(
            f"-c {key}: expected comma-separated names, got {type(value).__name__} {value!r}"
        )
    names = []
    for item in items:
        if not isinstance(item, str):
            raise SelectionError(f"-c {key}: expected names, got {item!r}")
        if item.strip():
            names.append(item.strip())
    return tuple(dict.fromkeys(names))


def _unknown(
    key: str, wanted: Sequence[str], known: Sequence[str], also_known: Sequence[str] = ()
) -> list[str]:
    choices = sorted(set(known))
    valid = set(choices) | set(also_known)
    problems = []
    for name in wanted:
        if name in valid:
            continue
        near = _nearest(name, choices)
        hint = (
            f"did you mean {', '.join(near)}?"
            if near
            else f"its {len(choices)} {key} include {', '.join(choices[:3])}"
        )
        problems.append(f"-c {key}: {_NO_STACK[key].format(name=repr(name))}; {hint}")
    return problems


def _nearest(name: str, choices: Sequence[str]) -> list[str]:
    """Names containing what was typed (`prod` -> production), then the most similar ones."""
    containing = [choice for choice in choices if name.lower() in choice.lower()]
    similar = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    return list(dict.fromkeys([*containing, *similar]))[:3]
