from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.imports_page, name="imports"),
    path("<int:pk>/", views.job_page, name="job"),
    path("<int:pk>/status/", views.job_status, name="job_status"),
    path("<int:pk>/errors.xlsx", views.error_sheet_download, name="errors"),
]
