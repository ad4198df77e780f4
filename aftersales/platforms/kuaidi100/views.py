"""The carrier-tracking push receiver: it verifies, stores, applies and answers."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import receive_tracking_push


@csrf_exempt  # signed by the aggregator (sign = MD5(param + salt)), not by a browser session
@require_POST
def push(request: HttpRequest, shop_id: int) -> JsonResponse:
    answer = receive_tracking_push(
        shop_id=shop_id,
        param=request.POST.get("param"),
        sign=request.POST.get("sign"),
        source=request.META.get("REMOTE_ADDR", ""),
    )
    return JsonResponse(
        answer.body, status=answer.status, json_dumps_params={"ensure_ascii": False}
    )
