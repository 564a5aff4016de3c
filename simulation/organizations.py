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
    accounts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        members = frozenset().union(*self.ou_members.values()) if self.ou_members else frozenset()
        self.accounts = members | {self.management_account}

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

    def create(self, management_account: str, units: Mapping[str, Sequence[str]]) -> Organization:
        accounts = [management_account, *(a for members in units.values() for a in members)]
        taken = [a for a in accounts if a in self._by_account]
        if taken:
            raise ValueError(f"accounts already in an organization: {sorted(set(taken))}")
        org_id = f"o-{self._new_suffix(10)}"
        root_id = f"r-{self._new_suffix(4)}"
        prefix = f"arn:{self.partition}:organizations::{management_account}"
        ou_arns = {
            name: f"{prefix}:ou/{org_id}/ou-{root_id[2:]}-{self._new_suffix(8)}" for name in units
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
        return self._by_account.get(account)

    def path_of(self, principal: str) -> str | None:
        organization = self.by_principal(principal)
        return organization.path_of(principal) if organization else None

    def by_principal(self, principal: str) -> Organization | None:
        """The organization that an organization or OU ARN belongs to."""
        for organization in self._all:
            if organization.accounts_of(principal):
                return organization
        return None

    def move_into(self, organization: Organization, account: str, ou_arn: str) -> None:
        """An account created in (or moved into) an OU: every OU principal covers it from now."""
        owner = self._by_account.get(account)
        if owner is not None and owner is not organization:
            raise ValueError(f"account {account} is in organization {owner.id} already")
        if ou_arn not in organization.ou_members:
            raise ValueError(f"{ou_arn} is not an OU of {organization.id}")
        for unit, members in organization.ou_members.items():
            organization.ou_members[unit] = members - {account}
        organization.ou_members[ou_arn] |= {account}
        organization.accounts |= {account}
        self._by_account[account] = organization

    def remove(self, organization: Organization, account: str) -> None:
        """An account that leaves the organization."""
        if account == organization.management_account:
            raise ValueError("the management account cannot leave its organization")
        for unit, members in organization.ou_members.items():
            organization.ou_members[unit] = members - {account}
        organization.accounts -= {account}
        self._by_account.pop(account, None)
