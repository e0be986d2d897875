from ninja.security import HttpBearer

from aftercart.core.services import shop_for_api_key


class ShopKey(HttpBearer):
    """`Authorization: Bearer <key>`; the key decides the shop, so no call can name another."""

    def authenticate(self, request, token: str):
        shop = shop_for_api_key(token)
        if shop is not None:
            request.shop = shop
        return shop
