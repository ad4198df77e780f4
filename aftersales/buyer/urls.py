from django.urls import path

from . import views

app_name = "buyer"
urlpatterns = [
    path("", views.start, name="start"),
    path("verify/", views.verify, name="verify"),
    path("link/<str:token>/", views.link, name="link"),
    path("leave/", views.leave, name="leave"),
    path("order/", views.order_page, name="order"),
    path("order/apply/", views.apply, name="apply"),
    path("order/chat/", views.chat, name="chat"),
    path("cases/<int:pk>/evidence/", views.add_evidence, name="evidence"),
    path("cases/<int:pk>/tracking/", views.add_tracking, name="tracking"),
    path("cases/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("cases/<int:pk>/rating/", views.rate, name="rate"),
    path(
        "cases/<int:pk>/offers/<int:offer_id>/answer/",
        views.answer_offer,
        name="answer_offer",
    ),
    path("staff/", views.staff_inbox, name="staff"),
    path("staff/cases/<int:pk>/link/", views.staff_link, name="staff_link"),
    path(
        "staff/cases/<int:pk>/link/withdraw/",
        views.staff_revoke_links,
        name="staff_revoke_links",
    ),
]
