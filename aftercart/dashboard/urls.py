from django.urls import path

from aftercart.dashboard.views import customers, flows, intake, orders, outbox, shops, templates

app_name = "dashboard"
urlpatterns = [
    path("", shops.home, name="home"),
    path("shops/<slug:shop_slug>/", shops.shop_home, name="shop"),
    path("shops/<slug:shop_slug>/orders/", orders.order_list, name="orders"),
    path("shops/<slug:shop_slug>/orders/<int:pk>/", orders.order_page, name="order"),
    path("shops/<slug:shop_slug>/customers/", customers.customer_list, name="customers"),
    path("shops/<slug:shop_slug>/customers/<int:pk>/", customers.customer_page, name="customer"),
    path(
        "shops/<slug:shop_slug>/customers/<int:pk>/export/",
        customers.customer_export,
        name="customer-export",
    ),
    path(
        "shops/<slug:shop_slug>/customers/<int:pk>/erase/",
        customers.customer_erase,
        name="customer-erase",
    ),
    path("shops/<slug:shop_slug>/intake/", intake.intake, name="intake"),
    path("shops/<slug:shop_slug>/intake/retry/", intake.intake_retry, name="intake-retry"),
    path("shops/<slug:shop_slug>/flows/", flows.flow_list, name="flows"),
    path("shops/<slug:shop_slug>/flows/<int:pk>/", flows.flow_page, name="flow"),
    path("shops/<slug:shop_slug>/flows/<int:pk>/status/", flows.flow_status, name="flow-status"),
    path("shops/<slug:shop_slug>/flows/<int:pk>/export/", flows.flow_export, name="flow-export"),
    path("shops/<slug:shop_slug>/emails/", outbox.outbox, name="outbox"),
    path("shops/<slug:shop_slug>/emails/templates/", templates.template_list, name="templates"),
    path(
        "shops/<slug:shop_slug>/emails/templates/<str:kind>/<str:locale>/",
        templates.template_page,
        name="template",
    ),
    path(
        "shops/<slug:shop_slug>/emails/templates/<str:kind>/<str:locale>/test/",
        templates.template_test,
        name="template-test",
    ),
    path("shops/<slug:shop_slug>/emails/<int:pk>/", outbox.message_page, name="message"),
    path(
        "shops/<slug:shop_slug>/emails/<int:pk>/settle/",
        outbox.message_settle,
        name="message-settle",
    ),
]
