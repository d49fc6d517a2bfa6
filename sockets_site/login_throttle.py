"""Log-in throttling: django-axes' database handler with two limits.

Rules: failures are counted per (username, address) and per address, over the
last AXES_COOLOFF_TIME. A pair is refused after AXES_FAILURE_LIMIT failures, so
one account can be guessed at only slowly from one place, while its owner can
still log in from elsewhere; an address is refused after the higher
LOGIN_ADDRESS_FAILURE_LIMIT, so trying many accounts from one place is slowed
too. A successful log-in forgets only that pair's failures: forgetting the
address's would let anyone with an account reset the count by logging in.
An "address" is the client's network (sockets_site.client_ip.throttled_network):
every address of one IPv6 /64 counts as the same one.
"""

from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Max, Sum


class LoginThrottle(AxesDatabaseHandler):
    def _counts(self, request, credentials):
        """(failures, latest failure) for the pair, then for the address."""
        # get_user_attempts answers in the order of AXES_LOCKOUT_PARAMETERS.
        pair, address = self.get_user_attempts(request, credentials)
        return [
            tuple(attempts.aggregate(n=Sum("failures_since_start"), t=Max("attempt_time")).values())
            for attempts in (pair, address)
        ]

    def get_failures(self, request, credentials=None) -> int:
        """The pair's failures, or the pair's limit once the address has reached its own.

        Axes compares this one number with AXES_FAILURE_LIMIT.
        """
        (pair, _), (address, _) = self._counts(request, credentials)
        pair, address = pair or 0, address or 0
        if address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(pair, settings.AXES_FAILURE_LIMIT)
        return pair

    def reset_user_attempts(self, request, credentials=None) -> int:
        pair, _address = self.filter_user_attempts(request, credentials)
        count, _ = pair.delete()
        return count

    def locked_until(self, request, credentials=None) -> datetime | None:
        """When the lock ends: the pair's exactly; the address's at the latest."""
        (pair, pair_latest), (_, address_latest) = self._counts(request, credentials)
        latest = pair_latest if (pair or 0) >= settings.AXES_FAILURE_LIMIT else address_latest
        return latest + settings.AXES_COOLOFF_TIME if latest else None
