"""Console-wide pages that belong to no single app."""

from django.shortcuts import render


def dashboard(request):
    return render(request, "dashboard.html")
