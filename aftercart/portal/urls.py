from django.urls import path

from aftercart.portal import returns, support, views

app_name = "portal"
urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/preferences/", views.preferences, name="preferences"),
    path("o/<str:token>/", views.order_status, name="order_status"),
    path("o/<str:token>/return/", returns.start_return, name="start_return"),
    path("o/<str:token>/contact/", support.contact, name="contact"),
    path("o/<str:token>/contact/sent/", support.contact_sent, name="contact_sent"),
    path("rate/<str:token>/<int:score>/", support.rate, name="rate"),
    path("r/<str:token>/", returns.return_page, name="return"),
    path("r/<str:token>/label.pdf", returns.return_label, name="return_label"),
    path("status/<slug:shop_slug>/", views.find_order, name="find_order"),
]
