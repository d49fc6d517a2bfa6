"""The page shown when log-in throttling refuses an attempt (AXES_LOCKOUT_CALLABLE).

Rules: it answers 429 with a page of the site, says when to try again, and
points to password reset; it never says whether the account exists.
"""

from axes.handlers.proxy import AxesProxyHandler
from django.shortcuts import render


def locked_out(request, response=None, credentials=None):
    # Axes' async middleware passes the credentials where the response goes, so
    # take them from the request, where Axes also keeps them.
    credentials = getattr(request, "axes_credentials", None) or {}
    until = AxesProxyHandler.get_implementation().locked_until(request, credentials)
    return render(request, "accounts/locked_out.html", {"until": until}, status=429)
