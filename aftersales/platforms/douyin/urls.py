from django.urls import path

app_name = "douyin"
urlpatterns: list = []
