"""`/healthz/`: a plain-text answer with no database, template or session.

For load balancers and for bench/pages.py, where it is the framework's ceiling: what one
request through Django and every middleware costs when the view itself costs nothing.
"""

from django.http import HttpResponse


def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")
