"""Team pages, mounted at /team/ (see `views` for who may use which)."""

from django.urls import path

from . import views

app_name = "team"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("duty/", views.duty, name="duty"),
    path("reassign/", views.reassign, name="reassign"),
    path("bulk/", views.bulk, name="bulk"),
    path("staff/", views.staff, name="staff"),
    path("staff/<int:user_id>/skills/", views.staff_skills, name="staff_skills"),
    path("staff/<int:user_id>/name/", views.staff_name, name="staff_name"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.revoke_key, name="revoke_key"),
]
