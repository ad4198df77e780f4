from django.urls import path

from . import views

app_name = "disputes"

urlpatterns = [
    path("", views.week_page, name="week"),
    path("cases/<int:pk>/offers/", views.make_offer, name="offer"),
    path("cases/<int:pk>/offers/<int:offer_id>/answer/", views.answer_offer, name="answer"),
    path("cases/<int:pk>/packages/", views.build_package, name="package"),
    path(
        "cases/<int:pk>/packages/<int:package_id>/submit/",
        views.submit_package,
        name="submit",
    ),
    path(
        "cases/<int:pk>/packages/<int:package_id>/<slug:which>/",
        views.package_file,
        name="package_file",
    ),
    path("cases/<int:pk>/appeal/", views.file_appeal, name="appeal"),
    path("cases/<int:pk>/appeal/outcome/", views.appeal_outcome, name="appeal_outcome"),
]
