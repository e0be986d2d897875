"""Who sees which shop: log-in required, and shop A's staff never reach shop B."""

import pytest

from tests.dashboard.conftest import PASSWORD, make_user, place_order


def test_pages_require_login(client, shop):
    order = place_order(shop, "1001")
    for url in [
        "/",
        f"/shops/{shop.slug}/orders/",
        f"/shops/{shop.slug}/orders/{order.pk}/",
        f"/shops/{shop.slug}/customers/",
        f"/shops/{shop.slug}/customers/{order.customer_id}/",
        f"/shops/{shop.slug}/customers/{order.customer_id}/export/",
        f"/shops/{shop.slug}/intake/",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_login_page_logs_in_and_lands_on_the_first_shop(client, staff, shop):
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content

    response = client.post("/login/", {"username": "anna", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == f"/shops/{shop.slug}/orders/"
    assert shop.name in response.content.decode()


def test_wrong_password_is_refused(client, staff):
    response = client.post("/login/", {"username": "anna", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(staff_client):
    response = staff_client.post("/logout/")
    assert response.status_code == 302
    assert staff_client.get("/").status_code == 302


@pytest.mark.parametrize(
    "path",
    ["orders/", "orders/{order}/", "customers/", "customers/{customer}/", "intake/", ""],
)
def test_staff_of_one_shop_get_404_on_another_shops_pages(staff_client, other_shop, path):
    order = place_order(other_shop, "9001", email="tea@example.com")
    url = f"/shops/{other_shop.slug}/" + path.format(order=order.pk, customer=order.customer_id)
    assert staff_client.get(url).status_code == 404


def test_ids_of_another_shop_are_404_under_ones_own_shop(staff_client, shop, other_shop):
    order = place_order(other_shop, "9001", email="tea@example.com")
    base = f"/shops/{shop.slug}"
    assert staff_client.get(f"{base}/orders/{order.pk}/").status_code == 404
    assert staff_client.get(f"{base}/customers/{order.customer_id}/").status_code == 404
    assert staff_client.get(f"{base}/customers/{order.customer_id}/export/").status_code == 404
    assert staff_client.post(f"{base}/customers/{order.customer_id}/erase/").status_code == 404
    order.customer.refresh_from_db()
    assert order.customer.email == "tea@example.com"


def test_lists_never_show_another_shops_orders(staff_client, shop, other_shop):
    place_order(shop, "1001", email="mine@example.com")
    place_order(other_shop, "9001", email="theirs@example.com")
    for url in [f"/shops/{shop.slug}/orders/", f"/shops/{shop.slug}/customers/"]:
        page = staff_client.get(url, {"q": "example.com"}).content.decode()
        assert "mine@example.com" in page
        assert "theirs@example.com" not in page and "#9001" not in page


def test_shop_switcher_lists_only_the_users_shops(client, shop, other_shop, db):
    from aftercart.core.services import create_shop

    third, _ = create_shop("bakery", name="Bakkerij")
    user = make_user("piet", shops=[shop, third])
    client.force_login(user)
    page = client.get(f"/shops/{shop.slug}/customers/").content.decode()
    assert f'href="/shops/{third.slug}/customers/"' in page
    assert other_shop.name not in page and f"/shops/{other_shop.slug}/" not in page


def test_superuser_sees_every_shop(client, shop, other_shop):
    client.force_login(make_user("root", superuser=True))
    assert client.get(f"/shops/{other_shop.slug}/orders/").status_code == 200
    assert client.get(f"/shops/{shop.slug}/orders/").status_code == 200


def test_home_without_shops_explains_how_to_create_one(client, db):
    client.force_login(make_user("root", superuser=True))
    page = client.get("/")
    assert page.status_code == 200
    assert "aftercart shop create" in page.content.decode()


def test_switching_shop_keeps_the_section(client, shop, db):
    from aftercart.core.services import create_shop

    second, _ = create_shop("bakery", name="Bakkerij")
    client.force_login(make_user("piet", shops=[shop, second]))
    order = place_order(shop, "1001")
    page = client.get(f"/shops/{shop.slug}/customers/{order.customer_id}/").content.decode()
    assert f'href="/shops/{second.slug}/customers/"' in page
    assert f'href="/shops/{shop.slug}/customers/" aria-current="page"' in page
