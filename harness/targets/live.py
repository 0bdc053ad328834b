"""The ``live`` target: the providers' own documented endpoints, with the user's keys.

Base URLs are the profile's (``api.base_url(host)``) and the key is the profile's environment
variable; an API whose key is not set is skipped with the variable's name, never failed, so a
contract run with one key exercises exactly that provider. Every request is charged to the
provider's budget, and throttled answers (429/503 with ``Retry-After``) are waited out once by
default (:class:`~harness.targets.budget.RetryPolicy`, capped at 30 s), because a rate limit
says nothing about the contract. The ``local`` provider is the ``local`` target's business.
"""

from __future__ import annotations

from harness.providers import Api, Profile
from harness.targets.base import TargetKind
from harness.targets.budget import RetryPolicy
from harness.targets.network import NetworkTarget


class LiveTarget(NetworkTarget):
    """Real provider APIs, gated on keys and a budget."""

    kind = TargetKind.LIVE
    default_retry = RetryPolicy()

    def api_base(self, profile: Profile, api: Api, host: str = "default") -> str:
        return api.base_url(host)

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        if profile.name == "local":
            return "the live target does not reach the 'local' provider; use the local target"
        if not api.auth.optional and self.key(profile, api) is None:
            return f"{api.auth.env} is not set"
        return None
