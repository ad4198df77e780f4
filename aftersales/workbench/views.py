"""Workbench views: server-rendered pages for agents, supervisors, admins and auditors."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginView(auth_views.LoginView):
    template_name = "workbench/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "workbench/queue.html", {"nav": "queue"})
