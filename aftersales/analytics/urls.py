from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview_page, name="overview"),
    path("products/", views.products_page, name="products"),
    path("platform/", views.platform_page, name="platform"),
    path("exports/", views.start_export, name="start_export"),
    path("exports/<int:pk>/", views.export_page, name="export"),
    path("exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.download_export, name="download_export"),
]
