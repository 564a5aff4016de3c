"""An offline world of AWS accounts that real boto3 clients talk to (RAM, SageMaker lineage,
CloudFormation's GetTemplate, STS's AssumeRole, and the SSM parameters the acceptor reads its
allow-list from).

    world = World()
    world.add_account("111111111111")
    ram = world.client("ram", account="111111111111", region="us-east-1")
    ram.get_resource_shares(resourceOwner="SELF")   # answered by the fake, through botocore

Every HTTP attempt goes through `World.answer`: injected faults first, then the service's
input limits, then one `AuthorizationRequest` per resource for `world.authorizer`, then the
fake service. Each attempt is logged in `call_log`, so retries are visible.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from botocore.model import OperationModel

from simulation import wire
from simulation.authorization import (
    AllowAll,
    AuthorizationRequest,
    AuthorizationResult,
    Authorizer,
)
from simulation.cloudformation_fake import CloudFormationFake
from simulation.fake_service import Caller, Response, ServiceError
from simulation.organizations import Organization, Organizations
from simulation.ram_fake import RamFake
from simulation.sagemaker_fake import SageMakerFake
from simulation.shape_validation import input_constraint_violations
from simulation.ssm_fake import SsmFake
from simulation.sts_fake import StsFake, TrustPolicies

DEFAULT_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
# Inference: RAM documents DISASSOCIATING and DELETING but not how long they last; seconds, so
# one is seen by a poll that follows at once, and gone by the Provider's next poll.
DEFAULT_TRANSITION_DELAY = timedelta(seconds=10)
SERVICES = ("ram", "sagemaker", "cloudformation", "sts", "ssm")
_EMPTY_PAGE_TOKEN_PREFIX = "simulation-empty-page-"


@dataclass(frozen=True)
class CallRecord:
    account: str
    region: str
    principal_arn: str
    service: str
    operation: str
    params: dict[str, Any]
    error_code: str | None  # None for success; the exception's name for a bug in the fake


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("simulated time only moves forward")
        self._now += delta


@dataclass
class _Fault:
    operation: str
    account: str | None
    remaining: int
    error_code: str | None  # None: answer with an empty page

    def matches(self, operation: str, account: str) -> bool:
        return (
            self.remaining > 0 and self.operation == operation and self.account in (None, account)
        )


class Faults:
    """Failures injected into the next matching calls; each HTTP attempt uses up one."""

    def __init__(self, operation_models: Mapping[str, OperationModel]) -> None:
        self._operation_models = operation_models
        self._faults: list[_Fault] = []

    def fail(
        self, operation: str, error_code: str, *, times: int = 1, account: str | None = None
    ) -> None:
        self._model(operation)
        self._faults.append(_Fault(operation, account, times, error_code))

    def empty_page(self, operation: str, *, times: int = 1, account: str | None = None) -> None:
        if _token_member(self._model(operation)) is None:
            raise ValueError(f"{operation} does not page")
        self._faults.append(_Fault(operation, account, times, None))

    def unused(self) -> list[str]:
        """Injected faults no call has met yet: a scenario asserting on them proves they ran."""
        return [
            f"{fault.operation}: {fault.error_code or 'empty page'} x{fault.remaining}"
            for fault in self._faults
            if fault.remaining > 0
        ]

    def take(self, operation: str, account: str, *, empty_page: bool) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(operation, account) and (fault.error_code is None) == empty_page:
                fault.remaining -= 1
                return fault
        return None

    def _model(self, operation: str) -> OperationModel:
        if operation not in self._operation_models:
            raise ValueError(f"no simulated service has an operation named {operation!r}")
        return self._operation_models[operation]


class _EventBus:
    """RAM's EventBridge events, kept per receiving account and region."""

    def __init__(self, clock: SimulatedClock, new_id: Any) -> None:
        self._clock = clock
        self._new_id = new_id
        self._delivered: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def emit(
        self, account: str, region: str, resources: list[str], event: str, status: str
    ) -> None:
        self._delivered.setdefault((account, region), []).append(
            {
                "version": "0",
                "id": self._new_id(),
                "detail-type": "Resource Sharing State Change",
                "source": "aws.ram",
                "account": account,
                "time": self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": region,
                "resources": list(resources),
                "detail": {"event": event, "status": status},
            }
        )

    def take(self, account: str, region: str) -> list[dict[str, Any]]:
        return self._delivered.pop((account, region), [])


class World:
    def __init__(
        self,
        start: datetime | None = None,
        authorizer: Authorizer | None = None,
        partition: str = "aws",
        seed: int = 0,
        transition_delay: timedelta = DEFAULT_TRANSITION_DELAY,
    ) -> None:
        if transition_delay < timedelta(0):
            raise ValueError("a transition delay cannot be negative")
        self.clock = SimulatedClock(start or DEFAULT_START)
        # How long RAM's DISASSOCIATING and DELETING last; timedelta(0) completes them at once.
        self.transition_delay = transition_delay
        self.authorizer: Authorizer = authorizer or AllowAll()
        self.partition = partition
        self.call_log: list[CallRecord] = []
        self._random = random.Random(seed)
        self._accounts: set[str] = set()
        self._organizations = Organizations(partition, self._new_suffix)
        self._events = _EventBus(self.clock, self._new_id)
        self.sagemaker = SageMakerFake(
            now=self.clock.now,
            sharing=lambda: self.ram,
            organization_paths=self._organizations.path_of,
            partition=partition,
        )
        self.ram = RamFake(
            now=self.clock.now,
            new_id=self._new_id,
            organizations=self._organizations,
            resources=self.sagemaker,
            events=self._events,
            partition=partition,
            transition_delay=lambda: self.transition_delay,
        )
        self.ssm = SsmFake(now=self.clock.now, partition=partition)
        self.cloudformation = CloudFormationFake(partition=partition)
        # Which roles trust whom (the estate sets the policies from the templates).
        self.trust_policies: TrustPolicies = _NoRoles()
        self.sts = StsFake(
            now=self.clock.now,
            trust=lambda: self.trust_policies,
            new_id=self._new_id,
            partition=partition,
        )
        self._fakes = {
            "ram": self.ram,
            "sagemaker": self.sagemaker,
            "cloudformation": self.cloudformation,
            "sts": self.sts,
            "ssm": self.ssm,
        }
        self._empty_page_tokens: dict[str, str | None] = {}
        self.faults = Faults(_operation_models())

    # ------------------------------------------------------------------ set-up

    def add_account(self, account_id: str) -> None:
        if not (account_id.isdigit() and len(account_id) == 12):
            raise ValueError(f"an account id has 12 digits, got {account_id!r}")
        self._accounts.add(account_id)

    def create_organization(
        self,
        management_account: str,
        units: Mapping[str, Sequence[str]],
        *,
        ram_sharing_enabled: bool = False,
        organization_id: str | None = None,
        ou_ids: Mapping[str, str] | None = None,
    ) -> Organization:
        """An organization with one OU per entry; RAM org sharing stays off unless asked for
        (EnableSharingWithAwsOrganization from the management account turns it on).
        `organization_id` and `ou_ids` give the ids a config names (else generated)."""
        organization = self._organizations.create(
            management_account, units, organization_id=organization_id, ou_ids=ou_ids
        )
        organization.ram_sharing_enabled = ram_sharing_enabled
        for account in organization.accounts:
            self.add_account(account)
        return organization

    def join_organization(
        self, organization: Organization, account: str, ou_arn: str | None
    ) -> None:
        """An account joins the organization, into the OU (None: under the root)."""
        self.add_account(account)
        self._organizations.join(organization, account, ou_arn)

    def leave_organization(self, account: str) -> None:
        self._organizations.leave(account)

    def client(
        self, service: str, *, account: str, region: str, principal_arn: str | None = None
    ) -> Any:
        if service not in SERVICES:
            raise NotImplementedError(f"the simulation has no {service!r} service")
        if account not in self._accounts:
            raise ValueError(f"unknown account {account}: add_account or create_organization first")
        caller = Caller(
            account=account,
            region=region,
            principal_arn=principal_arn
            or f"arn:{self.partition}:iam::{account}:role/SimulationOperator",
            partition=self.partition,
        )
        return wire.create_client(service, caller, self, self.clock.advance)

    def client_for(self, service: str, *, credentials: Mapping[str, Any], region: str) -> Any:
        """A client that calls with AssumeRole's `Credentials`: as the role they stand for."""
        caller = self.sts.session(credentials["AccessKeyId"])
        return wire.create_client(service, replace(caller, region=region), self, self.clock.advance)

    # ------------------------------------------------------------------ introspection

    def take_events(self, account: str, region: str) -> list[dict[str, Any]]:
        return self._events.take(account, region)

    def lineage_group_arn(self, account: str, region: str) -> str | None:
        return self.sagemaker.lineage_group_arn(account, region)

    # ------------------------------------------------------------------ one HTTP attempt

    def answer(
        self, caller: Caller, operation: OperationModel, params: Mapping[str, Any]
    ) -> Response:
        service = operation.service_model.service_name
        error_code: str | None = None
        try:
            return self._answer(caller, operation, dict(params))
        except ServiceError as error:
            error_code = error.code
            raise
        except Exception as error:
            error_code = type(error).__name__
            raise
        finally:
            self.call_log.append(
                CallRecord(
                    caller.account,
                    caller.region,
                    caller.principal_arn,
                    service,
                    operation.name,
                    dict(params),
                    error_code,
                )
            )

    def _answer(
        self, caller: Caller, operation: OperationModel, params: dict[str, Any]
    ) -> Response:
        fault = self.faults.take(operation.name, caller.account, empty_page=False)
        if fault is not None and fault.error_code is not None:
            raise ServiceError(
                fault.error_code, f"Simulated {fault.error_code} for {operation.name}."
            )
        token_member = _token_member(operation)
        if token_member and str(params.get(token_member, "")).startswith(_EMPTY_PAGE_TOKEN_PREFIX):
            original = self._empty_page_tokens.pop(params.pop(token_member), None)
            if original is not None:
                params[token_member] = original
        if token_member and self.faults.take(operation.name, caller.account, empty_page=True):
            return self._empty_page(operation, token_member, params.get(token_member))
        fake = self._fakes[operation.service_model.service_name]
        fake_operation = fake.operations.get(operation.name)
        if fake_operation is None:
            raise NotImplementedError(
                f"{operation.service_model.service_name}:{operation.name} is not implemented by the simulation"
            )
        violations = input_constraint_violations(operation.input_shape, params)
        if violations:
            raise ServiceError(
                fake.validation_error_code,
                f"{len(violations)} validation error(s) detected: " + "; ".join(violations),
            )
        for request in fake_operation.authorization(caller, params):
            self._authorize(request)
        return fake_operation.execute(caller, params)

    def _authorize(self, request: AuthorizationRequest) -> None:
        if not self.authorizer.authorize(request).allowed:
            raise ServiceError(
                "AccessDeniedException",
                f"User: {request.principal_arn} is not authorized to perform: {request.action} "
                f"on resource: {request.resource} because no identity-based policy allows the "
                f"{request.action} action",
            )

    def _empty_page(
        self, operation: OperationModel, token_member: str, original_token: str | None
    ) -> Response:
        token = f"{_EMPTY_PAGE_TOKEN_PREFIX}{self._new_id()}"
        self._empty_page_tokens[token] = original_token
        output = operation.output_shape
        assert output is not None
        page: Response = {
            name: [] for name, member in output.members.items() if member.type_name == "list"
        }
        page[token_member] = token
        return page

    # ------------------------------------------------------------------ deterministic ids

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def _new_suffix(self, length: int) -> str:
        return "".join(
            self._random.choice(string.ascii_lowercase + string.digits) for _ in range(length)
        )


class _NoRoles:
    def may_assume(self, role_arn: str, principal_arn: str, account: str) -> AuthorizationResult:
        return AuthorizationResult(False, f"no trust policy is registered for {role_arn}")


def _token_member(operation: OperationModel) -> str | None:
    output = operation.output_shape
    for name in ("nextToken", "NextToken"):
        if output is not None and name in output.members and name in operation.input_shape.members:
            return name
    return None


@cache
def _operation_models() -> dict[str, OperationModel]:
    session = wire.shared_session()
    models: dict[str, OperationModel] = {}
    for service in SERVICES:
        service_model = session.get_service_model(service)
        for name in service_model.operation_names:
            # Faults name operations without their service: where SSM shares a name with RAM
            # or SageMaker (GetResourcePolicies, DeleteAssociation...), theirs is meant.
            models.setdefault(name, service_model.operation_model(name))
    return models
