"""A simulated estate: accounts in one world, IAM evaluated from the templates, a rollout
driver and an operator who checks every pair. The CLI, the scenario tests and the benchmark
all start from here, so they exercise the same thing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lineage_sharing.cloud_assembly import SynthesizedStack
from lineage_sharing.status import PairStatus, directed_pairs, pair_status
from simulation.authorization import AllowAll
from simulation.iam import PolicyEvaluator, RecordingAuthorizer
from simulation.rollout import Rollout, deploy_all
from simulation.world import World

# The person who runs `cdk deploy` and the status checks: not a stack role, so IAM evaluation
# falls back to allowing it (admins are out of scope; the stacks' roles are what we prove).
OPERATOR_ROLE = "LineageSharingOperator"


@dataclass
class SimulatedEstate:
    world: World
    evaluator: PolicyEvaluator
    recorder: RecordingAuthorizer
    rollout: Rollout
    names: Mapping[str, str] = field(default_factory=dict)
    # The operator keeps one client per (service, account, region), as a script would: creating
    # a botocore client costs ~10 ms, and the status checks ask for the same ones many times.
    _operator_clients: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)
    _operator_clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(
        cls, accounts: Iterable[str], names: Mapping[str, str] | None = None
    ) -> SimulatedEstate:
        world = World()
        for account in accounts:
            world.add_account(account)
        evaluator = PolicyEvaluator(fallback=AllowAll())
        recorder = RecordingAuthorizer(evaluator)
        world.authorizer = recorder
        world.trust_policies = evaluator
        return cls(world, evaluator, recorder, Rollout(world, iam=evaluator), dict(names or {}))

    def operator_client(self, service: str, account: str, region: str) -> Any:
        key = (service, account, region)
        with self._operator_clients_lock:  # the status checks run accounts in threads
            if key not in self._operator_clients:
                role = f"arn:{self.world.partition}:iam::{account}:role/{OPERATOR_ROLE}"
                self._operator_clients[key] = self.world.client(
                    service, account=account, region=region, principal_arn=role
                )
            return self._operator_clients[key]

    def denied_calls(self) -> list[str]:
        return [
            f"{request.principal_arn} {request.action} on {request.resource}: {result.reason}"
            for request, result in self.recorder.records
            if not result.allowed
        ]

    def pair_statuses(self, stacks: Sequence[SynthesizedStack]) -> list[PairStatus]:
        return [
            pair_status(producer, consumer, self.operator_client, self.names)
            for producer, consumer in directed_pairs(stacks)
        ]

    def every_pair_has_access(self, stacks: Sequence[SynthesizedStack]) -> bool:
        """Cheap convergence check on the simulation's state (RAM grants each consumer the
        producer's group); `pair_statuses` is the real check, with DescribeContext."""
        for producer in stacks:
            if not producer.shares_with:
                continue
            group = self.world.lineage_group_arn(producer.account, producer.region)
            if group is None:
                return False
            if not all(self.world.ram.grants_access(group, c) for c in producer.shares_with):
                return False
        return True

    def roll_out_until_full_access(
        self,
        stacks: Sequence[SynthesizedStack],
        *,
        step: timedelta = timedelta(minutes=5),
        give_up_after: timedelta = timedelta(hours=12),
    ) -> timedelta | None:
        """Deploy every stack (consumers first), then let time pass in `step`s until every
        consumer has access: the simulated time that took, or None if it gave up."""
        began = self.world.clock.now()
        failures = deploy_all(self.rollout, stacks)
        if failures:
            raise RuntimeError(f"deployments failed: {failures}")
        while not self.every_pair_has_access(stacks):
            if self.world.clock.now() - began >= give_up_after:
                return None
            self.rollout.advance(step)
        return self.world.clock.now() - began
