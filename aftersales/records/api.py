"""The records in the REST API (`/api/v1/records/…`, mounted by `api/api.py`): the access
log (R6.5) for the shop admin and the auditor, as JSON or Excel. Another shop is a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from aftersales.core.actors import Actor

from .access import access_events, entry, export_access_log, readable_shops

router = Router(tags=["records"])


class LogQuery(Schema):
    shop: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


@router.get("/access-log", summary="Views of personal data in clear and exports (R6.5)")
def get_access_log(request: HttpRequest, query: Query[LogQuery]) -> dict[str, Any]:
    shops = readable_shops(_actor(request), query.shop)
    events = access_events(shops, since=query.since, until=query.until)
    limit = max(1, min(query.limit, 1000))
    return {
        "items": [
            {
                "at": item.at.isoformat(),
                "shop": item.shop,
                "who": item.who,
                "kind": item.kind,
                "case": item.case_id,
                "what": item.what,
                "personal_data": item.personal_data,
            }
            for item in (entry(e) for e in events[:limit])
        ]
    }


@router.get("/access-log.xlsx", summary="The access log as an Excel file (itself logged)")
def download_access_log(request: HttpRequest, query: Query[LogQuery]) -> HttpResponse:
    actor = _actor(request)
    shops = readable_shops(actor, query.shop)
    body = export_access_log(actor=actor, shop_ids=shops, since=query.since, until=query.until)
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="access-log.xlsx"'
    return response
