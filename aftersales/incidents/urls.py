from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incidents_page, name="list"),
    path("<int:pk>/", views.incident_page, name="detail"),
    path("<int:pk>/do/<slug:name>/", views.incident_action, name="action"),
    path("<int:pk>/bulk/", views.incident_bulk, name="bulk"),
]
