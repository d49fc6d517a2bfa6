from django.shortcuts import render

from playground import conf
from playground.experiments import EXPERIMENTS


def index(request):
    # The WebSocket finds its sandbox by session, so the page makes sure one exists.
    if not request.session.session_key:
        request.session["playground"] = True
        request.session.save()
    limits = conf.limits()
    return render(
        request,
        "playground/index.html",
        {
            "limits": limits,
            "experiments": EXPERIMENTS,
            "experiment": request.GET.get("experiment", ""),
        },
    )
