"""AWS Organizations as far as RAM needs it: who is in which organization and OU."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Organization:
    id: str  # o-xxxxxxxxxx
    arn: str  # arn:<partition>:organizations::<management>:organization/<id>
    management_account: str
    root_id: str  # r-xxxx
    ou_arns: dict[
        str, str
    ]  # OU name -> arn:<partition>:organizations::<management>:ou/<org id>/<ou id>
    ou_members: dict[str, frozenset[str]]  # OU ARN -> member accounts
    # Set by RAM's EnableSharingWithAwsOrganization, called from the management account.
    ram_sharing_enabled: bool = False
    # Member accounts directly under the root, in no OU.
    root_members: frozenset[str] = frozenset()
    accounts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._recount()

    def _recount(self) -> None:
        members = frozenset().union(*self.ou_members.values()) if self.ou_members else frozenset()
        self.accounts = members | self.root_members | {self.management_account}

    def move(self, account: str, ou_arn: str | None) -> None:
        """Move an account into the OU (None: to the root, in no OU, still in the organization)."""
        if ou_arn is not None and ou_arn not in self.ou_members:
            raise ValueError(f"{ou_arn} is not an OU of {self.arn}")
        self.ou_members = {
            ou: (members | {account}) if ou == ou_arn else (members - {account})
            for ou, members in self.ou_members.items()
        }
        self.root_members = (
            self.root_members | {account} if ou_arn is None else self.root_members - {account}
        )
        self._recount()

    def remove(self, account: str) -> None:
        """The account leaves the organization (RemoveAccountFromOrganization / LeaveOrganization)."""
        if account == self.management_account:
            raise ValueError("the management account cannot leave its organization")
        self.ou_members = {ou: members - {account} for ou, members in self.ou_members.items()}
        self.root_members = self.root_members - {account}
        self._recount()

    def accounts_of(self, principal: str) -> frozenset[str]:
        """Accounts an organization or OU principal stands for (empty if not this org's)."""
        if principal == self.arn:
            return self.accounts
        return self.ou_members.get(principal, frozenset())

    def path_of(self, principal: str) -> str | None:
        """The aws:PrincipalOrgPaths value an organization or OU principal stands for."""
        if principal == self.arn:
            return f"{self.id}/"
        if principal in self.ou_members:
            return f"{self.id}/{self.root_id}/{principal.rsplit('/', 1)[1]}/"
        return None


class Organizations:
    def __init__(self, partition: str, new_suffix: Callable[[int], str]) -> None:
        self.partition = partition
        self._new_suffix = new_suffix  # n lowercase letters/digits, deterministic per world
        self._by_account: dict[str, Organization] = {}
        self._all: list[Organization] = []

    def create(
        self,
        management_account: str,
        units: Mapping[str, Sequence[str]],
        *,
        organization_id: str | None = None,
        ou_ids: Mapping[str, str] | None = None,
    ) -> Organization:
        """`organization_id` (o-...) and `ou_ids` (OU name -> ou-<root>-<id>) fix the ids, e.g.
        to those a config names; otherwise they are generated."""
        accounts = [management_account, *(a for members in units.values() for a in members)]
        taken = [a for a in accounts if a in self._by_account]
        if taken:
            raise ValueError(f"accounts already in an organization: {sorted(set(taken))}")
        org_id = organization_id or f"o-{self._new_suffix(10)}"
        given = dict(ou_ids or {})
        roots = {ou_id.split("-")[1] for ou_id in given.values()}
        if len(roots) > 1:
            raise ValueError(f"the OUs of one organization share its root: {sorted(roots)}")
        root_id = f"r-{roots.pop()}" if roots else f"r-{self._new_suffix(4)}"
        prefix = f"arn:{self.partition}:organizations::{management_account}"
        ou_arns = {
            name: f"{prefix}:ou/{org_id}/"
            + given.get(name, f"ou-{root_id[2:]}-{self._new_suffix(8)}")
            for name in units
        }
        organization = Organization(
            id=org_id,
            arn=f"{prefix}:organization/{org_id}",
            management_account=management_account,
            root_id=root_id,
            ou_arns=ou_arns,
            ou_members={ou_arns[name]: frozenset(members) for name, members in units.items()},
        )
        for account in organization.accounts:
            self._by_account[account] = organization
        self._all.append(organization)
        return organization

    def of_account(self, account: str) -> Organization | None:
        organization = self._by_account.get(account)
        if organization is not None and account not in organization.accounts:
            return None  # it left the organization
        return organization

    def join(self, organization: Organization, account: str, ou_arn: str | None) -> None:
        """An account accepts the organization's invitation (and is moved into the OU, or
        stays under the root)."""
        current = self.of_account(account)
        if current is not None and current is not organization:
            raise ValueError(f"{account} is already in {current.arn}")
        self._by_account[account] = organization
        organization.move(account, ou_arn)

    def path_of(self, principal: str) -> str | None:
        organization = self.by_principal(principal)
        return organization.path_of(principal) if organization else None

    def by_principal(self, principal: str) -> Organization | None:
        """The organization that an organization or OU ARN belongs to."""
        for organization in self._all:
            if principal == organization.arn or principal in organization.ou_members:
                return organization  # an OU with no accounts (yet) is still this org's
        return None

    def leave(self, account: str) -> None:
        """The account leaves its organization (RemoveAccountFromOrganization)."""
        organization = self._by_account.pop(account)
        organization.remove(account)
