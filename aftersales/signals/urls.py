from django.urls import path

from . import views

app_name = "signals"

urlpatterns = [
    path("", views.signals_page, name="list"),
    path("<int:pk>/review/", views.review, name="review"),
    path("rules/<slug:code>/", views.rule_change, name="rule"),
]
