from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from aftersales.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("webhooks/douyin/", include("aftersales.platforms.douyin.urls")),
    path("webhooks/kuaidi100/", include("aftersales.platforms.kuaidi100.urls")),
    path("team/", include("aftersales.team.urls")),
    path("analytics/", include("aftersales.analytics.urls")),
    path("reminders/", include("aftersales.sla.urls")),
    path("buyer/", include("aftersales.buyer.urls")),
    path("knowledge/", include("aftersales.knowledge.urls")),
    path("incidents/", include("aftersales.incidents.urls")),
    path("signals/", include("aftersales.signals.urls")),
    path("alerts/", include("aftersales.alerts.urls")),
    path("disputes/", include("aftersales.disputes.urls")),
    path("imports/", include("aftersales.imports.urls")),
    path("records/", include("aftersales.records.urls")),
    path("", include("aftersales.workbench.urls")),
]

# The product's own error pages (aftersales/workbench/errors.py), never a bare status line.
handler400 = "aftersales.workbench.errors.bad_request"
handler403 = "aftersales.workbench.errors.permission_denied"
handler404 = "aftersales.workbench.errors.page_not_found"
handler500 = "aftersales.workbench.errors.server_error"
