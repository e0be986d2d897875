from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from aftercart.api.main import api
from aftercart.integrations import inbound_mail, webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("webhooks/shopify/<slug:shop_slug>", webhooks.shopify_webhook, name="webhook-shopify"),
    path(
        "webhooks/woocommerce/<slug:shop_slug>",
        webhooks.woocommerce_webhook,
        name="webhook-woocommerce",
    ),
    path(
        "webhooks/aftership/<slug:shop_slug>",
        webhooks.aftership_webhook,
        name="webhook-aftership",
    ),
    path(
        "webhooks/inbound-mail/<slug:shop_slug>",
        inbound_mail.inbound_mail,
        name="webhook-inbound-mail",
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("aftercart.portal.urls")),
    path("", include("aftercart.dashboard.urls")),
]

if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    # Email providers' webhooks (django-anymail): bounces, complaints, inbound mail. Only
    # with a secret: without one anyone could put any address on the suppression list.
    urlpatterns.append(path("esp/", include("anymail.urls")))
