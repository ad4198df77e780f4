"""The product's own error pages: 400, 403, 404, 500 and the CSRF failure.

Each says in the reader's language what happened and offers a way back; none shows a
traceback, a URL list or a bare status line. `urls.py` names these views as Django's
`handler400/403/404/500`, and `settings.CSRF_FAILURE_VIEW` names `csrf_failure`.

Django uses the handlers for 404 and 400 only with DEBUG off, and the demo runs with it on.
`ErrorPagesMiddleware` therefore renders the product's page for a 404, 403 or 400 raised by
one of our views whatever DEBUG says: a link in the product must never lead to a debug
page. What stays for developers under DEBUG is the 500 traceback and the 404 of an address
no URL pattern matches (no product link leads there). The API and the webhooks answer JSON
with their own errors and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

# What each page says: a title and what the reader can do about it.
PAGES: dict[int, tuple[Any, Any]] = {
    400: (
        _("The request could not be understood"),
        _("Something in the link or the form was not right, so nothing was changed."),
    ),
    403: (
        _("You cannot open this page"),
        _("Your role in this shop does not allow it. Ask your shop admin if you need it."),
    ),
    404: (
        _("Not found"),
        _("The page or case does not exist, or it belongs to a shop you do not work in."),
    ),
    500: (
        _("Something went wrong on our side"),
        _("Nothing you did caused it, and the error is on record. Try again in a moment."),
    ),
}
CSRF_PAGE = (
    _("The form has expired"),
    _(
        "The page was open for a long time, or you logged in or out in another tab. Go back, "
        "reload the page and try again; nothing was changed."
    ),
)

# Paths whose errors are JSON, answered by their own code.
JSON_PREFIXES = ("/api/", "/webhooks/")


def _back_url(request: HttpRequest) -> str:
    """Where "back" goes: the page the reader came from, if it is ours, else the queue."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def error_page(
    request: HttpRequest, status: int, page: tuple[Any, Any] | None = None
) -> HttpResponse:
    title, explanation = page or PAGES[status]
    context = {"status": status, "title": title, "explanation": explanation}
    context["back_url"] = _back_url(request)
    return render(request, f"{status}.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request's context processors: whatever failed (the database,
    a context processor) must not fail this page too."""
    title, explanation = PAGES[500]
    html = loader.get_template("500.html").render(
        {"status": 500, "title": title, "explanation": explanation}
    )
    return HttpResponse(html, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_page(request, 403, CSRF_PAGE)


class ErrorPagesMiddleware:
    """The product's 404, 403 and 400 pages for exceptions raised by its views, with DEBUG
    on too (see the module docstring). Django still logs each as one line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(JSON_PREFIXES):
            return None
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request, exception)
        if isinstance(exception, BadRequest):
            return bad_request(request, exception)
        return None
