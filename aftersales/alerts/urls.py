from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.robots_page, name="robots"),
    path("robots/<int:pk>/", views.robot_change, name="robot_change"),
    path("robots/<int:pk>/test/", views.robot_test, name="robot_test"),
]
