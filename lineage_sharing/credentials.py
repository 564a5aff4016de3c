"""boto3 sessions per account, for commands that read several real accounts at once.

Each account's credentials come from, in this order: a named profile given for that account, a
profile name pattern (e.g. `ml-{name}` or `{id}`), a role of the given name assumed in that
account (sts:AssumeRole from the base credentials), or else the base credentials themselves.
Credentials that turn out to belong to another account are refused, so a check never reports
one account's state as another's.

Sessions are built on first use, once per account, behind a lock (boto3 sessions are not
thread-safe; the clients made from them are). Everything that talks to AWS is injectable
(`session_factory`, `sts_client`), so this is tested offline with botocore's Stubber.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

SessionFactory = Callable[..., boto3.Session]
StsClientFor = Callable[[boto3.Session, str], Any]  # (session, region) -> sts client
DEFAULT_SESSION_NAME = "lineage-sharing-status"


class AccountAccessError(Exception):
    """No usable credentials for one account; the message says why and what to do (the caller
    says which account)."""


def _default_sts_client(session: boto3.Session, region: str) -> Any:
    return session.client("sts", region_name=region)


@dataclass(frozen=True)
class CredentialSource:
    """Where each account's credentials come from (see the module docstring)."""

    profiles: Mapping[str, str] = field(default_factory=dict)  # account id -> profile name
    profile_pattern: str | None = None  # formatted with {id} and {name}
    role_name: str | None = None
    base_profile: str | None = None
    session_name: str = DEFAULT_SESSION_NAME

    def profile_for(self, account: str, name: str | None) -> str | None:
        if account in self.profiles:
            return self.profiles[account]
        if self.profile_pattern:
            return self.profile_pattern.format(id=account, name=name or account)
        return None

    def describe(self, account: str, name: str | None, partition: str = "aws") -> str:
        profile = self.profile_for(account, name)
        if profile:
            return f"profile {profile}"
        if self.role_name:
            return f"role {role_arn(partition, account, self.role_name)}"
        return f"profile {self.base_profile}" if self.base_profile else "the default credentials"


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def client_with_credentials(service: str, region: str, credentials: Mapping[str, Any]) -> Any:
    """A client acting with AssumeRole's `Credentials` (a session of its own: boto3 sessions
    are not thread-safe, and the status checks read accounts concurrently)."""
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    return session.client(service, region_name=region)


def partition_of(region: str) -> str:
    return botocore.session.get_session().get_partition_for_region(region)


class AccountSessions:
    """A `ClientFactory` ((service, account, region) -> client) over real credentials."""

    def __init__(
        self,
        source: CredentialSource,
        names: Mapping[str, str],
        *,
        session_factory: SessionFactory = boto3.Session,
        sts_client: StsClientFor = _default_sts_client,
    ) -> None:
        self._source = source
        self._names = dict(names)
        self._session_factory = session_factory
        self._sts_client = sts_client
        self._lock = threading.Lock()  # guards the dicts below and the base session
        self._account_locks: dict[str, threading.Lock] = {}
        self._sessions: dict[str, boto3.Session] = {}
        self._base: boto3.Session | None = None

    def __call__(self, service: str, account: str, region: str) -> Any:
        session = self.session(account, region)
        with self._account_lock(account):
            return session.client(service, region_name=region)

    def session(self, account: str, region: str) -> boto3.Session:
        """The account's session, made on first use; accounts are made concurrently."""
        with self._account_lock(account):
            if account not in self._sessions:
                self._sessions[account] = self._new_session(account, region)
            return self._sessions[account]

    def _account_lock(self, account: str) -> threading.Lock:
        with self._lock:
            return self._account_locks.setdefault(account, threading.Lock())

    def describe(self, account: str, region: str) -> str:
        return self._source.describe(account, self._names.get(account), partition_of(region))

    # ------------------------------------------------------------------ building sessions
    def _new_session(self, account: str, region: str) -> boto3.Session:
        source = self._source
        profile = source.profile_for(account, self._names.get(account))
        try:
            if profile:
                session = self._session_factory(profile_name=profile)
                sts = self._sts_client(session, region)
                self._check_account(sts, account, f"profile {profile}")
                return session
            if source.role_name:
                return self._assume_role(account, region)
            session = self._new_base_session()  # one per account: sessions are not thread-safe
            sts = self._sts_client(session, region)
            self._check_account(sts, account, self.describe(account, region))
            return session
        except AccountAccessError:
            raise
        except (BotoCoreError, ClientError) as error:
            raise AccountAccessError(
                f"no credentials from {self.describe(account, region)}: {error}; "
                f"pass --profile {self._names.get(account, account)}=PROFILE, "
                "--profile-pattern or --role-name"
            ) from None

    def _base_session(self) -> boto3.Session:
        """The session roles are assumed from; callers hold self._lock (it is shared)."""
        if self._base is None:
            self._base = self._new_base_session()
        return self._base

    def _new_base_session(self) -> boto3.Session:
        if self._source.base_profile:
            return self._session_factory(profile_name=self._source.base_profile)
        return self._session_factory()

    def _assume_role(self, account: str, region: str) -> boto3.Session:
        arn = role_arn(partition_of(region), account, self._source.role_name or "")
        with self._lock:
            sts = self._sts_client(self._base_session(), region)
        try:
            credentials = sts.assume_role(RoleArn=arn, RoleSessionName=self._source.session_name)[
                "Credentials"
            ]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            raise AccountAccessError(
                f"cannot assume {arn} ({code}: {message}); create that role in the "
                "account with the read-only status policy (README: status on real accounts) "
                "and let your base credentials assume it"
            ) from None
        return self._session_factory(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )

    def _check_account(self, sts: Any, account: str, source: str) -> None:
        identity = sts.get_caller_identity()
        if identity["Account"] != account:
            raise AccountAccessError(
                f"{source} is for account {identity['Account']} ({identity['Arn']}), "
                f"not {account}; pass --profile {self._names.get(account, account)}=PROFILE "
                "or --role-name"
            )
