"""The address a request came from, for log-in throttling.

Rules: REMOTE_ADDR is the client unless DJANGO_BEHIND_PROXY=1; only then is the
first address of X-Forwarded-For believed, because without a proxy that sets it
any client could write the header and pick a fresh address for every attempt.
The proxy must replace the header, not append to it, for the same reason.
"""

from django.conf import settings


def client_ip(request) -> str:
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")
