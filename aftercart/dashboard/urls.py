from django.urls import path

from aftercart.dashboard.views import (
    customers,
    deliveries,
    flow_report,
    flows,
    intake,
    orders,
    outbox,
    returns,
    shops,
    templates,
    tickets,
    webhooks,
)

app_name = "dashboard"
urlpatterns = [
    path("", shops.home, name="home"),
    path("shops/<slug:shop_slug>/", shops.shop_home, name="shop"),
    path("shops/<slug:shop_slug>/orders/", orders.order_list, name="orders"),
    path("shops/<slug:shop_slug>/orders/<int:pk>/", orders.order_page, name="order"),
    path("shops/<slug:shop_slug>/deliveries/", deliveries.delivery_list, name="deliveries"),
    path("shops/<slug:shop_slug>/returns/", returns.return_list, name="returns"),
    path("shops/<slug:shop_slug>/returns/bulk/", returns.return_bulk, name="returns-bulk"),
    path("shops/<slug:shop_slug>/returns/policy/", returns.return_policy, name="return-policy"),
    path(
        "shops/<slug:shop_slug>/returns/insights/", returns.return_insights, name="return-insights"
    ),
    path("shops/<slug:shop_slug>/returns/<int:pk>/", returns.return_page, name="return"),
    path("shops/<slug:shop_slug>/returns/<int:pk>/act/", returns.return_act, name="return-act"),
    path(
        "shops/<slug:shop_slug>/returns/<int:pk>/photos/<int:photo>.jpg",
        returns.return_photo,
        name="return-photo",
    ),
    path("shops/<slug:shop_slug>/tickets/", tickets.ticket_list, name="tickets"),
    path(
        "shops/<slug:shop_slug>/tickets/settings/",
        tickets.support_settings,
        name="support-settings",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/figures/", tickets.support_figures, name="support-figures"
    ),
    path("shops/<slug:shop_slug>/tickets/<int:pk>/", tickets.ticket_page, name="ticket"),
    path("shops/<slug:shop_slug>/tickets/<int:pk>/act/", tickets.ticket_act, name="ticket-act"),
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
    path("shops/<slug:shop_slug>/webhooks/", webhooks.endpoint_list, name="webhooks"),
    path("shops/<slug:shop_slug>/webhooks/new/", webhooks.endpoint_new, name="webhook-new"),
    path("shops/<slug:shop_slug>/webhooks/<int:pk>/", webhooks.endpoint_page, name="webhook"),
    path(
        "shops/<slug:shop_slug>/webhooks/<int:pk>/edit/",
        webhooks.endpoint_edit,
        name="webhook-edit",
    ),
    path(
        "shops/<slug:shop_slug>/webhooks/<int:pk>/status/",
        webhooks.endpoint_status,
        name="webhook-status",
    ),
    path(
        "shops/<slug:shop_slug>/webhooks/<int:pk>/secret/",
        webhooks.endpoint_rotate,
        name="webhook-rotate",
    ),
    path(
        "shops/<slug:shop_slug>/webhooks/<int:pk>/test/",
        webhooks.endpoint_test,
        name="webhook-test",
    ),
    path(
        "shops/<slug:shop_slug>/webhooks/<int:pk>/delete/",
        webhooks.endpoint_delete,
        name="webhook-delete",
    ),
    path(
        "shops/<slug:shop_slug>/webhooks/<int:pk>/deliveries/<int:delivery>/",
        webhooks.delivery_page,
        name="webhook-delivery",
    ),
    path(
        "shops/<slug:shop_slug>/webhooks/<int:pk>/deliveries/<int:delivery>/resend/",
        webhooks.delivery_resend,
        name="webhook-resend",
    ),
    path(
        "shops/<slug:shop_slug>/flows/<int:pk>/report/",
        flow_report.flow_report,
        name="flow-report",
    ),
    path("shops/<slug:shop_slug>/flows/new/", flows.flow_new, name="flow-new"),
    path(
        "shops/<slug:shop_slug>/flows/<int:pk>/backtest/",
        flows.flow_backtest,
        name="flow-backtest",
    ),
]
