"""The demo shop's catalogue: what a Dutch coffee & tea webshop sells, at prices it would ask.

Prices include VAT, as Dutch shops show them: 9 % on coffee and tea (food), 21 % on gear,
none on gift cards (a voucher is taxed when it is spent).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from aftercart.core.models import Shop
from aftercart.orders.models import Product, Variant

BEANS, TEA, GEAR, ACCESSORIES, GIFTS = (
    "Koffiebonen",
    "Thee",
    "Zetmethodes",
    "Accessoires",
    "Cadeaus",
)
HOUSE = "Koffiebar Noord"
VAT_FOOD, VAT_HIGH, VAT_NONE = Decimal("0.09"), Decimal("0.21"), Decimal("0.00")


@dataclass(frozen=True)
class Item:
    sku: str
    title: str
    category: str
    vendor: str
    variants: tuple[tuple[str, str], ...]  # (variant title, price incl. VAT)
    weight: float = 1.0  # how often it sells, relative to the others
    reorder_days: int | None = None  # a consumable: typically bought again after this long
    returnable: bool = True
    filter_sku: str = ""  # the paper filters this brewer uses

    @property
    def external_id(self) -> str:
        return f"demo-{self.sku.lower()}"

    def variant_id(self, index: int) -> str:
        return f"{self.external_id}-{index}"

    def variant_sku(self, index: int) -> str:
        return f"{self.sku}-{index}" if len(self.variants) > 1 else self.sku

    @property
    def vat(self) -> Decimal:
        if self.category in (BEANS, TEA):
            return VAT_FOOD
        return VAT_NONE if self.sku.startswith("GIFT-CARD") else VAT_HIGH


def _beans(sku, title, small, large, weight=1.0):
    return Item(sku, title, BEANS, HOUSE, (("250 g", small), ("1 kg", large)), weight, 30, False)


def _tea(sku, title, tin, refill, weight=1.0, vendor=HOUSE):
    return Item(
        sku,
        title,
        TEA,
        vendor,
        (("Blik 100 g", tin), ("Navulzak 250 g", refill)),
        weight,
        45,
        False,
    )


def _one(sku, title, category, vendor, price, weight=1.0, **kw):
    return Item(sku, title, category, vendor, (("", price),), weight, **kw)


CATALOGUE: tuple[Item, ...] = (
    _beans("BN-HUIS", "Huisblend Noord — espresso", "9.95", "34.95", 6),
    _beans("BN-ZONDAG", "Zondagochtend — filterblend", "9.50", "32.95", 4),
    _beans("BN-BRA", "Brazilië Cerrado Mineiro", "8.95", "29.95", 3.5),
    _beans("BN-ETH", "Ethiopië Yirgacheffe Kochere", "12.50", "42.95", 3),
    _beans("BN-COL", "Colombia Huila Finca El Paraíso", "11.95", "39.95", 2.5),
    _beans("BN-KEN", "Kenia Nyeri AA", "13.50", "44.95", 1.5),
    _beans("BN-GUA", "Guatemala Antigua Pastoral", "10.95", "36.95", 1.8),
    _beans("BN-SUM", "Sumatra Mandheling", "10.50", "35.95", 1.2),
    _beans("BN-PER", "Peru Cajamarca (biologisch)", "10.95", "36.95", 1.5),
    _beans("BN-RWA", "Rwanda Nyamasheke", "12.95", "43.95", 1),
    _beans("BN-CRI", "Costa Rica Tarrazú honey", "12.50", "41.95", 1),
    _beans("BN-DECAF", "Decaf Colombia (Swiss Water)", "10.95", "37.95", 2),
    _tea("TE-EARL", "Earl Grey Blue Flower", "8.50", "17.95", 2.5),
    _tea("TE-SENCHA", "Sencha Kyoto", "9.95", "21.50", 1.5),
    _tea("TE-DARJ", "Darjeeling First Flush Castleton", "14.95", "32.50", 0.8),
    _tea("TE-ASSAM", "Assam Breakfast", "7.50", "15.95", 1.8),
    _tea("TE-ROOI", "Rooibos vanille", "6.95", "14.50", 2),
    _tea("TE-JASM", "Jasmijn Dragon Pearls", "13.50", "29.95", 0.8),
    _tea("TE-MUNT", "Marokkaanse munt (gunpowder)", "7.95", "16.95", 1.5),
    _tea("TE-CHAI", "Chai masala", "8.95", "18.95", 1.6),
    _tea("TE-OOLONG", "Milky Oolong", "11.95", "25.95", 0.7),
    _tea("TE-KAMILLE", "Kamillebloesem", "6.50", "13.95", 1),
    _one(
        "GR-V60",
        "Hario V60 dripper 02, keramiek",
        GEAR,
        "Hario",
        "27.95",
        2.5,
        filter_sku="AC-V60F",
    ),
    _one("GR-CHEMEX", "Chemex Classic 6 kops", GEAR, "Chemex", "54.95", 1.2, filter_sku="AC-CHEMF"),
    _one("GR-AERO", "AeroPress Original", GEAR, "AeroPress", "39.95", 1.8, filter_sku="AC-AEROF"),
    _one("GR-KALITA", "Kalita Wave 185, RVS", GEAR, "Kalita", "36.95", 0.7, filter_sku="AC-KALF"),
    _one("GR-MOKA", "Bialetti Moka Express 6 kops", GEAR, "Bialetti", "34.95", 1.5),
    _one("GR-FRENCH", "Bodum Chambord French press 1 l", GEAR, "Bodum", "42.95", 1),
    _one("GR-STAGG", "Fellow Stagg EKG waterkoker", GEAR, "Fellow", "179.00", 0.5),
    _one("GR-C40", "Comandante C40 MK4 handmolen", GEAR, "Comandante", "269.00", 0.4),
    _one("GR-ENCORE", "Baratza Encore ESP koffiemolen", GEAR, "Baratza", "199.00", 0.5),
    _one("GR-SCALE", "Timemore Black Mirror weegschaal", GEAR, "Timemore", "54.95", 0.6),
    _one(
        "AC-V60F",
        "Hario V60 filters 02 (100 st.)",
        ACCESSORIES,
        "Hario",
        "5.95",
        2,
        reorder_days=60,
    ),
    _one(
        "AC-CHEMF",
        "Chemex filters FS-100 (100 st.)",
        ACCESSORIES,
        "Chemex",
        "12.95",
        0.9,
        reorder_days=60,
    ),
    _one(
        "AC-AEROF",
        "AeroPress filters (350 st.)",
        ACCESSORIES,
        "AeroPress",
        "6.95",
        0.8,
        reorder_days=60,
    ),
    _one(
        "AC-KALF",
        "Kalita Wave filters 185 (100 st.)",
        ACCESSORIES,
        "Kalita",
        "9.95",
        0.4,
        reorder_days=60,
    ),
    _one(
        "AC-CLEAN",
        "Cafiza reinigingstabletten (32 st.)",
        ACCESSORIES,
        "Urnex",
        "11.95",
        0.6,
        reorder_days=90,
    ),
    _one("AC-JUG", "Melkkan RVS 350 ml", ACCESSORIES, HOUSE, "14.95", 0.6),
    _one("AC-TAMP", "Tamper 58 mm, walnoot", ACCESSORIES, HOUSE, "29.95", 0.4),
    _one("AC-TIN", "Airscape koffieblik 500 g", ACCESSORIES, "Planetary Design", "29.95", 0.7),
    _one("AC-KEEP", "KeepCup Brew 340 ml", ACCESSORIES, "KeepCup", "27.95", 0.8),
    _one("AC-GLASS", "Dubbelwandige glazen 250 ml (2 st.)", ACCESSORIES, HOUSE, "19.95", 0.9),
    _one(
        "GS-PROEF",
        "Proefpakket single origins (3 × 250 g)",
        GIFTS,
        HOUSE,
        "32.50",
        1.2,
        returnable=False,
    ),
    _one("GS-THEE", "Cadeauset theeliefhebber", GIFTS, HOUSE, "29.95", 0.8, returnable=False),
    _one("GS-V60", "V60 starterset (dripper, filters, 250 g)", GIFTS, HOUSE, "39.95", 0.8),
    _one("GIFT-CARD-25", "Cadeaubon € 25", GIFTS, HOUSE, "25.00", 0.5, returnable=False),
    _one("GIFT-CARD-50", "Cadeaubon € 50", GIFTS, HOUSE, "50.00", 0.3, returnable=False),
)
BY_SKU = {item.sku: item for item in CATALOGUE}


@transaction.atomic
def create_catalogue(shop: Shop) -> int:
    """Put the demo catalogue in the shop; products it already has are left as they are."""
    known = set(Product.objects.filter(shop=shop).values_list("external_id", flat=True))
    created = 0
    for item in CATALOGUE:
        if item.external_id in known:
            continue
        product = Product.objects.create(
            shop=shop,
            external_id=item.external_id,
            title=item.title,
            category=item.category,
            vendor=item.vendor,
            returnable=item.returnable,
            consumable=item.reorder_days is not None,
            reorder_interval_days=item.reorder_days,
        )
        Variant.objects.bulk_create(
            Variant(
                shop=shop,
                product=product,
                external_id=item.variant_id(i),
                sku=item.variant_sku(i),
                title=title,
                price=Decimal(price),
            )
            for i, (title, price) in enumerate(item.variants)
        )
        created += 1
    return created
