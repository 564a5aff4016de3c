"""`lineage-sharing`: the operator's command (a thin argparse layer over this package).

    lineage-sharing plan       who shares with whom, and the deploy commands in order
    lineage-sharing status     per pair, on real accounts: can the consumer read the lineage?
    lineage-sharing graph      the mesh as a Mermaid or Graphviz picture
    lineage-sharing simulate   roll cdk.out out in the offline simulation, then check it
    lineage-sharing schema     the config's JSON schema, for editor completion

Every command but `schema` reads cdk.out and refuses one that was not synthesized from the
config (see config_record), and says which config it used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from config.rollout_plan import plan_stack_set
from config.schema import schema_text
from lineage_sharing import deploy_plan, graph
from lineage_sharing.cloud_assembly import AssemblyInputs, InputError, load_inputs
from lineage_sharing.credentials import AccountSessions, CredentialSource, client_with_credentials
from lineage_sharing.status import StatusReport, check_pairs, render_report

EXIT_OK, EXIT_NOT_OK, EXIT_USAGE = 0, 1, 2

_EXAMPLES = {
    "plan": """examples:
  lineage-sharing plan
  lineage-sharing plan --config config/team.yaml --profile-pattern 'ml-{name}'""",
    "status": """examples:
  lineage-sharing status --role-name LineageSharingStatus
  lineage-sharing status --profile training=ml-training --profile staging=ml-staging
  lineage-sharing status --profile-pattern 'ml-{name}' --json > status.json
  lineage-sharing status --role-name LineageSharingStatus --read-as-query-role

Credentials per account, first match wins: --profile for that account, --profile-pattern,
--role-name (assumed from the base credentials: --base-profile or the default chain), else the
base credentials. Each account needs the read-only actions listed in the README (status on
real accounts). Exit status: 0 when every expected pair can read lineage, 1 otherwise, 2 when
the command could not start.""",
    "graph": """examples:
  lineage-sharing graph                          # Mermaid, every pair "planned"
  lineage-sharing graph --format dot | dot -Tsvg > mesh.svg
  lineage-sharing status --json > status.json
  lineage-sharing graph --from-status status.json --output mesh.md""",
    "simulate": """examples:
  lineage-sharing simulate
  lineage-sharing simulate --graph cdk.out/lineage-graph.md
  lineage-sharing simulate --read-as-query-role""",
    "schema": """examples:
  lineage-sharing schema --output config/schema.json
then start the config file with
  # yaml-language-server: $schema=./schema.json""",
}


# ---------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lineage-sharing",
        description="Plan, check and picture SageMaker lineage sharing across AWS accounts, "
        "from the cloud assembly `npx cdk synth` wrote (cdk.out).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `lineage-sharing COMMAND --help` for each command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = _command(commands, "plan", "who shares with whom, and the deploy commands in order")
    _assembly_options(plan)
    _profile_options(plan)

    status = _command(
        commands, "status", "check every producer→consumer pair on the real AWS accounts"
    )
    _assembly_options(status)
    _profile_options(status)
    access = status.add_argument_group("assumed roles")
    access.add_argument(
        "--role-name",
        help="assume arn:<partition>:iam::<account>:role/ROLE_NAME in each account "
        "(accounts without a --profile)",
    )
    access.add_argument(
        "--base-profile", help="the credentials to assume roles from (default: the default chain)"
    )
    access.add_argument(
        "--session-name", default="lineage-sharing-status", help="RoleSessionName (CloudTrail)"
    )
    _report_options(status)
    status.add_argument(
        "--workers", type=int, default=8, help="accounts checked at once (default: 8)"
    )
    status.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    graph = _command(commands, "graph", "the mesh as a Mermaid or Graphviz dot picture")
    _assembly_options(graph)
    graph.add_argument(
        "--format",
        choices=("mermaid", "markdown", "dot"),
        help="default: from --output's suffix (.mmd, .md, .dot), else mermaid",
    )
    graph.add_argument("--output", type=Path, help="write the picture here (default: stdout)")
    graph.add_argument(
        "--from-status",
        type=Path,
        metavar="JSON",
        help="color each pair by its state in this `status --json` or `simulate --json` output "
        "(default: every pair is planned)",
    )

    simulate = _command(
        commands, "simulate", "roll cdk.out out in the offline simulation and check every pair"
    )
    _assembly_options(simulate)
    _report_options(simulate)

    schema = _command(commands, "schema", "write the config file's JSON schema")
    schema.add_argument("--output", type=Path, help="write it here (default: stdout)")
    return parser


def _command(commands: Any, name: str, summary: str) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=_EXAMPLES[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _assembly_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("inputs")
    group.add_argument(
        "--config",
        help="the sharing config (default: the one cdk.out was synthesized from); cdk.out "
        "must have been synthesized from it",
    )
    group.add_argument(
        "--cdk-out",
        type=Path,
        default=Path("cdk.out"),
        help="the cloud assembly (default: cdk.out)",
    )


def _profile_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("credentials")
    group.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="ACCOUNT=PROFILE",
        help="the AWS CLI profile for one account (its name or id); repeat per account",
    )
    group.add_argument(
        "--profile-pattern",
        metavar="PATTERN",
        help="profile names from a pattern with {name} and {id}, e.g. 'ml-{name}'",
    )


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--read-as-query-role",
        action="store_true",
        help="consumers with a query role (accounts[].query_role) read the producers' lineage "
        "as that role, assumed from their status identity: proves what its users can read",
    )
    parser.add_argument(
        "--graph",
        type=Path,
        metavar="FILE",
        help="also write the mesh colored by state (.mmd, .md or .dot)",
    )


# ---------------------------------------------------------------------------- running
def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's final flush of
        # stdout from failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_NOT_OK


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "plan": _plan,
        "status": _status,
        "graph": _graph,
        "simulate": _simulate,
        "schema": _schema,
    }
    try:
        return commands[args.command](args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


class UsageError(Exception):
    """The command cannot start; the message says why and what to do."""


def _inputs(args: argparse.Namespace) -> AssemblyInputs:
    try:
        return load_inputs(args.config, args.cdk_out)
    except InputError as error:
        raise UsageError(str(error)) from None


def _credential_source(args: argparse.Namespace, inputs: AssemblyInputs) -> CredentialSource:
    ids = {account.name: account.id for account in inputs.config.accounts}
    profiles = {}
    for entry in args.profile:
        account, separator, profile = entry.partition("=")
        if not separator or not profile:
            raise UsageError(f"--profile {entry!r}: expected ACCOUNT=PROFILE")
        if account not in ids and account not in ids.values():
            raise UsageError(
                f"--profile {entry!r}: {account!r} is neither the name nor the id of an account "
                f"in {inputs.config_path} ({', '.join(ids)})"
            )
        profiles[ids.get(account, account)] = profile
    return CredentialSource(
        profiles=profiles,
        profile_pattern=args.profile_pattern,
        role_name=getattr(args, "role_name", None),
        base_profile=getattr(args, "base_profile", None),
        session_name=getattr(args, "session_name", "lineage-sharing-status"),
    )


def _plan(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    source = _credential_source(args, inputs)
    print(inputs.describe())
    print()
    print(
        deploy_plan.render(
            inputs.stacks,
            inputs.names,
            config_path=inputs.deploy_config_path,
            sweep_minutes=inputs.config.sweep_interval_minutes,
            profile_for=lambda account: source.profile_for(account, inputs.names.get(account)),
        )
    )
    stack_set = plan_stack_set(inputs.config)
    if stack_set is not None:
        print()
        print(deploy_plan.render_stack_set(stack_set, config_path=inputs.deploy_config_path))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    source = _credential_source(args, inputs)
    if args.graph:
        _picture_format(args.graph)
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    sessions = AccountSessions(source, inputs.names)
    print(inputs.describe(), file=sys.stderr)
    with tqdm(
        desc="checking accounts",
        unit="step",
        file=sys.stderr,
        disable=True if args.no_progress else None,  # None: only on a terminal
        leave=False,
    ) as bar:
        report = check_pairs(
            inputs.stacks,
            sessions,
            names=inputs.names,
            deploy_command=lambda stack: deploy_plan.deploy_command(
                stack,
                inputs.deploy_config_path,
                source.profile_for(stack.account, inputs.names.get(stack.account)),
            ),
            workers=args.workers,
            progress=lambda done, total: _advance(bar, done, total),
            query_role_clients=client_with_credentials if args.read_as_query_role else None,
        )
    _write_graph(args.graph, inputs, report)
    if args.json:
        print(json.dumps({**_provenance(inputs), **report.to_json()}, indent=2))
    else:
        print(inputs.describe())
        print()
        print(render_report(report, inputs.names))
    if args.graph:
        where = sys.stderr if args.json else sys.stdout
        print(f"graph of the mesh by status: {args.graph}", file=where)
    return EXIT_OK if report.ok else EXIT_NOT_OK


def _advance(bar: Any, done: int, total: int) -> None:
    bar.total = total
    bar.n = done
    bar.refresh()


def _graph(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    states = _states_from(args.from_status, inputs) if args.from_status else None
    fmt = args.format or (_picture_format(args.output) if args.output else "mermaid")
    picture = graph.render(
        inputs.stacks, inputs.names, states=states, fmt=fmt, caption=_caption(inputs, states)
    )
    if args.output:
        args.output.write_text(picture + "\n")
        print(f"{inputs.describe()}\nwrote {args.output}")
    else:
        print(picture)
    return EXIT_OK


def _states_from(path: Path, inputs: AssemblyInputs) -> dict[tuple[str, str, str], str]:
    try:
        return graph.states_from_status(json.loads(path.read_text()), inputs.record.sha256)
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: {error}") from None


def _caption(inputs: AssemblyInputs, states: Any) -> str:
    colored = "colored by status" if states else "planned (not checked)"
    return f"lineage sharing, {colored}; {inputs.describe()}"


def _write_graph(path: Path | None, inputs: AssemblyInputs, report: StatusReport) -> None:
    if path is None:
        return
    states = {(p.producer_account, p.consumer_account, p.region): p.state for p in report.pairs}
    path.write_text(
        graph.render(
            inputs.stacks,
            inputs.names,
            states=states,
            fmt=_picture_format(path),
            caption=_caption(inputs, states),
        )
        + "\n"
    )


def _picture_format(path: Path) -> str:
    try:
        return graph.format_for(path)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _provenance(inputs: AssemblyInputs) -> dict[str, Any]:
    return {
        "config": {"path": inputs.config_path, "sha256": inputs.record.sha256},
        "cdk_out": str(inputs.cdk_out),
    }


def _simulate(args: argparse.Namespace) -> int:
    # Imported here: the simulation needs the test dependencies (policy_sentry, regex), which
    # the other commands do not.
    from lineage_sharing import simulate

    inputs = _inputs(args)
    if args.graph:
        _picture_format(args.graph)
    report = simulate.simulate(
        inputs.stacks, inputs.names, read_as_query_role=args.read_as_query_role
    )
    if args.json:
        document = {
            **_provenance(inputs),
            **report.status.to_json(),
            "ok": report.ok,
            "failed_deployments": [
                {"stack": f.stack, "request": f.request_type, "reason": f.reason}
                for f in report.failures
            ],
            "denied_calls": report.denied,
        }
        print(json.dumps(document, indent=2))
    else:
        print(inputs.describe())
        print(simulate.render(report))
    _write_graph(args.graph, inputs, report.status)
    if args.graph:
        where = sys.stderr if args.json else sys.stdout
        print(f"graph of the simulated mesh: {args.graph}", file=where)
    return EXIT_OK if report.ok else EXIT_NOT_OK


def _schema(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.output:
        args.output.write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
