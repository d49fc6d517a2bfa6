"""Where to send a visitor after a form: the `next` they asked for, if it is safe.

Rules: `next` must be an absolute path on this site (one leading `/`, not `//`,
no scheme, no other host); anything else, including a relative `abc` or
`javascript:`, falls back to the page given, by default the course page.
"""

from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_safe_next(request, target: str) -> bool:
    return (
        target.startswith("/")
        and not target.startswith("//")
        and not target.startswith("/\\")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    )


def next_url(request, fallback: str = "lessons:index") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if is_safe_next(request, target) else resolve_url(fallback)
