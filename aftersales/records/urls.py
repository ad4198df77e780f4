from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("access-log/", views.access_log_page, name="access_log"),
    path("access-log.xlsx", views.access_log_download, name="access_log_download"),
]
