"""Per producer→consumer pair: is the share there, was the invitation accepted, and can the
consumer really read the producer's lineage? The engine of `lineage-sharing status`.

The checks are the seed notebook's, made systematic (status_facts reads, status_diagnosis
decides). Accounts are read concurrently, one thread per account: first every account's own
side (producer: group, share, associations, policy; consumer: invitations), then each
consumer's live read of its producers' lineage. An account that cannot be read is reported for
that account; its pairs are `unknown`, the others are still checked.

The same code runs against real accounts (clients from lineage_sharing.credentials) and the
offline simulation (clients from simulation.estate): only the client factory differs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lineage_sharing.cloud_assembly import SynthesizedStack, directed_pairs, pair_principal
from lineage_sharing.credentials import AccountAccessError, partition_of
from lineage_sharing.status_diagnosis import (
    FAILING,
    PENDING,
    READABLE,
    UNKNOWN,
    PairContext,
    PairStatus,
    diagnose,
)
from lineage_sharing.status_facts import (
    ConsumerFacts,
    CredentialClients,
    ProducerFacts,
    ReadResult,
    read_consumer,
    read_lineage,
    read_lineage_as,
    read_producer,
)
from lineage_sharing.text_table import account_label, render_table

__all__ = ["PairStatus", "StatusReport", "check_pairs", "directed_pairs", "pair_status"]

# (service, account, region) -> boto3 client acting in that account
ClientFactory = Callable[[str, str, str], Any]
Progress = Callable[[int, int], None]  # (steps done, steps in all)
DEFAULT_WORKERS = 8
# What "cannot read this account" looks like; anything else is a bug and is raised.
_ACCESS_ERRORS = (ClientError, BotoCoreError, AccountAccessError)


@dataclass
class StatusReport:
    pairs: list[PairStatus]
    account_problems: dict[str, str] = field(default_factory=dict)  # account -> why unchecked
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Every expected pair is readable (and there is at least one)."""
        return bool(self.pairs) and all(pair.readable for pair in self.pairs)

    def counts(self) -> dict[str, int]:
        return {
            state: sum(pair.state == state for pair in self.pairs)
            for state in (READABLE, PENDING, FAILING, UNKNOWN)
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "counts": self.counts(),
            "pairs": [pair.to_json() for pair in self.pairs],
            "account_problems": dict(sorted(self.account_problems.items())),
        }


def check_pairs(
    stacks: Sequence[SynthesizedStack],
    clients: ClientFactory,
    *,
    names: Mapping[str, str],
    deploy_command: Callable[[SynthesizedStack], str] = lambda s: f"npx cdk deploy {s.name}",
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
    query_role_clients: CredentialClients | None = None,
) -> StatusReport:
    """Check every producer→consumer pair the synthesized stacks define.

    With `query_role_clients`, a consumer that has a query role reads as that role (assumed
    from its status identity), proving what the role's users can read; the others read as the
    status identity.
    """
    pairs = directed_pairs(stacks)
    cached = _CachedClients(clients)
    moment = now()
    producers = _unique(producer for producer, _ in pairs)
    consumers = _unique(consumer for _, consumer in pairs)
    accounts = sorted({stack.account for stack in [*producers, *consumers]})
    reading_accounts = sorted({consumer.account for consumer in consumers})
    steps = _Steps(len(accounts) + len(reading_accounts), progress)

    def own_side(account: str) -> _AccountFacts:
        try:
            return _AccountFacts(
                producers={
                    s.region: read_producer(
                        cached("ram", account, s.region),
                        cached("sagemaker", account, s.region),
                        account=account,
                        share_name=s.share_name or "",
                        now=moment,
                    )
                    for s in producers
                    if s.account == account
                },
                consumers={
                    s.region: read_consumer(cached("ram", account, s.region))
                    for s in consumers
                    if s.account == account
                },
            )
        except _ACCESS_ERRORS as error:
            return _AccountFacts(problem=_problem(error))
        finally:
            steps.done_one()

    facts = _map(own_side, accounts, workers)

    def read(consumer: SynthesizedStack, probe: str) -> ReadResult:
        account, region = consumer.account, consumer.region
        if query_role_clients is None or consumer.query_role_name is None:
            return read_lineage(cached("sagemaker", account, region), probe)
        role_arn = f"arn:{partition_of(region)}:iam::{account}:role/{consumer.query_role_name}"
        sts = cached("sts", account, region)
        return read_lineage_as(sts, role_arn, query_role_clients, region, probe)

    def reads(account: str) -> dict[tuple[str, str], ReadResult]:
        results: dict[tuple[str, str], ReadResult] = {}
        try:
            for producer, consumer in pairs:
                probe = _probe(facts, producer)
                if consumer.account == account and probe and not facts[account].problem:
                    results[(producer.name, consumer.name)] = read(consumer, probe)
        except _ACCESS_ERRORS as error:
            facts[account] = _AccountFacts(problem=_problem(error))
        finally:
            steps.done_one()
        return results

    read_results: dict[tuple[str, str], ReadResult] = {}
    for results in _map(reads, reading_accounts, workers).values():
        read_results.update(results)

    statuses = [
        diagnose(
            _pair_context(producer, consumer, names, deploy_command),
            facts[producer.account].producers.get(producer.region),
            facts[consumer.account].consumers.get(consumer.region),
            read_results.get((producer.name, consumer.name)),
            producer_problem=facts[producer.account].problem,
            consumer_problem=facts[consumer.account].problem,
        )
        for producer, consumer in pairs
    ]
    problems = {account: f.problem for account, f in facts.items() if f.problem}
    return StatusReport(statuses, problems, moment)


def pair_status(
    producer: SynthesizedStack,
    consumer: SynthesizedStack,
    clients: ClientFactory,
    names: Mapping[str, str],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PairStatus:
    """One pair (it must be one the stacks define), checked without threads."""
    report = check_pairs([producer, consumer], clients, names=names, now=now, workers=1)
    return next(
        p
        for p in report.pairs
        if (p.producer_account, p.consumer_account)
        == (
            producer.account,
            consumer.account,
        )
    )


# ---------------------------------------------------------------------------- rendering
def render_pairs(statuses: Iterable[PairStatus]) -> str:
    """The table, then the cause and fix of every pair that cannot read."""
    statuses = list(statuses)
    header = (
        "producer",
        "consumer",
        "region",
        "state",
        "share",
        "lineage group",
        "consumer (invitation)",
        "policy names it",
        "can read lineage",
    )
    rows = [
        (
            s.producer,
            s.consumer,
            s.region,
            s.state,
            s.share_status,
            s.group_association,
            _consumer_cell(s),
            {True: "yes", False: "NO", None: "-"}[s.policy_names_consumer],
            f"yes: {s.detail}" if s.readable else f"NO: {s.read_error or 'not read'}",
        )
        for s in statuses
    ]
    lines = [render_table(header, rows)]
    for s in statuses:
        if not s.readable:
            lines += ["", f"{s.producer} -> {s.consumer} in {s.region}: {s.state}"]
            lines += [f"  cause: {s.cause}", f"  fix:   {s.fix}"]
            if s.read_error:
                lines.append(f"  read:  {s.detail}")
    return "\n".join(lines)


def render_report(report: StatusReport, names: Mapping[str, str]) -> str:
    lines = [render_pairs(report.pairs)]
    for account, problem in sorted(report.account_problems.items()):
        lines += ["", f"cannot check {account_label(account, names)}: {problem}"]
    lines += ["", verdict(report)]
    return "\n".join(lines)


def verdict(report: StatusReport) -> str:
    counts = report.counts()
    readable = counts[READABLE]
    summary = f"{readable}/{len(report.pairs)} pairs can read lineage"
    if report.ok:
        return f"OK: {summary}"
    rest = ", ".join(f"{counts[s]} {s}" for s in (PENDING, FAILING, UNKNOWN))
    return f"NOT OK: {summary} ({rest})"


def _consumer_cell(status: PairStatus) -> str:
    cell = f"{status.principal_association} ({status.invitation})"
    if status.invitation_expires is not None:
        cell += f" expires {status.invitation_expires.astimezone(UTC):%m-%d %H:%M} UTC"
    return cell


# ---------------------------------------------------------------------------- plumbing
@dataclass
class _AccountFacts:
    producers: dict[str, ProducerFacts] = field(default_factory=dict)  # by region
    consumers: dict[str, ConsumerFacts] = field(default_factory=dict)
    problem: str = ""


class _CachedClients:
    """One client per (service, account, region), each made once. Different accounts' clients
    are made concurrently (an AssumeRole each); the factory must allow that."""

    def __init__(self, clients: ClientFactory) -> None:
        self._clients = clients
        self._made: dict[tuple[str, str, str], Any] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, account: str, region: str) -> Any:
        key = (service, account, region)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._made:
                self._made[key] = self._clients(service, account, region)
            return self._made[key]


class _Steps:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self._total = total
        self._done = 0
        self._progress = progress
        self._lock = threading.Lock()
        if progress:
            progress(0, total)

    def done_one(self) -> None:
        with self._lock:
            self._done += 1
            if self._progress:
                self._progress(self._done, self._total)


def _map(work: Callable[[str], Any], accounts: list[str], workers: int) -> dict[str, Any]:
    if not accounts:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(accounts)))) as pool:
        return dict(zip(accounts, pool.map(work, accounts), strict=True))


def _unique(stacks: Iterable[SynthesizedStack]) -> list[SynthesizedStack]:
    return list({stack.name: stack for stack in stacks}.values())


def _probe(facts: Mapping[str, _AccountFacts], producer: SynthesizedStack) -> str | None:
    own = facts[producer.account].producers.get(producer.region)
    return own.probe_arn if own else None


def _problem(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', '')} on {error.operation_name}: {details.get('Message', '')}"
    return str(error)


def _pair_context(
    producer: SynthesizedStack,
    consumer: SynthesizedStack,
    names: Mapping[str, str],
    deploy_command: Callable[[SynthesizedStack], str],
) -> PairContext:
    reconcile = producer.reconcile_schedule
    sweep = consumer.acceptor_sweep_interval
    return PairContext(
        producer=account_label(producer.account, names),
        consumer=account_label(consumer.account, names),
        producer_account=producer.account,
        consumer_account=consumer.account,
        region=producer.region,
        share_name=producer.share_name or "",
        producer_stack=producer.name,
        consumer_stack=consumer.name,
        deploy_producer=deploy_command(producer),
        deploy_consumer=deploy_command(consumer),
        reconcile_minutes=int(reconcile[0].total_seconds() // 60) if reconcile else None,
        sweep_minutes=int(sweep.total_seconds() // 60) if sweep else None,
        producer_bootstraps=producer.bootstraps_lineage_group,
        principal="" if (p := pair_principal(producer, consumer)) == consumer.account else p,
    )
