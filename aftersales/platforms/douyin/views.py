"""The push receiver. It stores and answers; the worker applies (see `ingest`)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .ingest import receive_push


@csrf_exempt  # signed by the platform (event-sign), not by a browser session
@require_POST
def push(request: HttpRequest) -> JsonResponse:
    source = request.META.get("REMOTE_ADDR", "")
    answer = receive_push(body=request.body, headers=request.headers, source=source)
    return JsonResponse(
        answer.body, status=answer.status, json_dumps_params={"ensure_ascii": False}
    )
