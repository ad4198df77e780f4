from django.urls import include, path

from aftersales.workbench import views

app_name = "workbench"
urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("export/", views.export_queue, name="export_queue"),
    path("cases/<int:pk>/", views.case_page, name="case"),
    path("cases/<int:pk>/do/<slug:name>/", views.case_action, name="case_action"),
    path("cases/<int:pk>/reveal/", views.reveal_contact, name="reveal"),
    path("cases/<int:pk>/platform/retry/", views.retry_platform_sync, name="platform_sync_retry"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
]
