from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview_page, name="overview"),
    path("products/", views.products_page, name="products"),
    path("platform/", views.platform_page, name="platform"),
    path("improvements/", views.improvements_page, name="improvements"),
    path("costs/", views.costs_page, name="costs"),
    path("satisfaction/", views.satisfaction_page, name="satisfaction"),
    path("follow-ups/<int:pk>/callback/", views.callback_view, name="callback"),
    path("good-cases/", views.good_case_view, name="good_case"),
    path("team-csat/", views.team_csat, name="team_csat"),
    path("survey/<str:token>/", views.survey_page, name="survey"),
    path("exports/", views.start_export, name="start_export"),
    path("exports/<int:pk>/", views.export_page, name="export"),
    path("exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.download_export, name="download_export"),
]
