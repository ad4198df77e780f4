from django.urls import path

from . import views

app_name = "douyin"
urlpatterns = [path("", views.push, name="push")]
