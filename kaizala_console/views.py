"""Console-wide pages that belong to no single app."""

from django.shortcuts import render

from messaging import selectors as messaging_selectors


def dashboard(request):
    return render(request, "dashboard.html", messaging_selectors.dashboard())
