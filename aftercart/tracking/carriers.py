"""Which carrier has a parcel, and the link where the customer follows it.

A carrier named by the store wins: the merchant knows whom she handed the parcel to. Only
when the store names none (or a name we do not know as a carrier, such as a bare "Other")
is the carrier read from the tracking number: first by `tracking-numbers` (the maintained
data set behind many tracking tools: UPS, FedEx, USPS, DHL Express, and UPU S10 numbers,
all with their check digits), then by the patterns of European parcel carriers it does
not know (PostNL, DHL Parcel, DPD, GLS, bpost, Colissimo). A pattern without a check digit
can match numbers of other carriers, so a number is only given to a carrier that delivers
to the parcel's destination, and one that fits two carriers is given to none.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote

from tracking_numbers import get_tracking_number


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    # {number}, {lang} ("nl" or "en"), {postcode}, {country}: filled by tracking_url.
    url: str
    # Where it delivers (ISO country codes); empty: everywhere.
    serves: frozenset[str] = frozenset()
    # URL language codes when the carrier's differ from the two letters ({lang}).
    languages: tuple[tuple[str, str], ...] = ()


# Where the European parcel networks (DHL Parcel, DPD, GLS) deliver.
EUROPE = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "GB",
        "CH",
        "NO",
    ]
)
CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier(
            "postnl",
            "PostNL",
            "https://jouw.postnl.nl/track-and-trace/{number}-{country}-{postcode}?language={lang}",
            frozenset({"NL", "BE"}),
        ),
        Carrier(
            "dhl_parcel",
            "DHL Parcel",
            "https://www.dhl.com/{lang}/home/tracking/tracking-parcel.html?tracking-id={number}",
            EUROPE,
            (("nl", "nl-nl"), ("en", "nl-en")),
        ),
        Carrier(
            "dhl_express",
            "DHL Express",
            "https://www.dhl.com/{lang}/home/tracking/tracking-express.html?tracking-id={number}",
            languages=(("nl", "nl-nl"), ("en", "global-en")),
        ),
        Carrier(
            "dpd",
            "DPD",
            "https://tracking.dpd.de/status/{lang}/parcel/{number}",
            EUROPE,
            (("nl", "nl_NL"), ("en", "en_US")),
        ),
        Carrier(
            "gls",
            "GLS",
            "https://gls-group.com/track/{number}?lang={lang}",
            EUROPE,
        ),
        Carrier(
            "ups",
            "UPS",
            "https://www.ups.com/track?loc={lang}&tracknum={number}",
            languages=(("nl", "nl_NL"), ("en", "en_US")),
        ),
        Carrier(
            "fedex",
            "FedEx",
            "https://www.fedex.com/fedextrack/?trknbr={number}&locale={lang}",
            languages=(("nl", "nl_NL"), ("en", "en_US")),
        ),
        Carrier(
            "usps",
            "USPS",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
            frozenset({"US", "PR", "GU", "VI", "AS", "MP"}),
        ),
        Carrier(
            "bpost",
            "bpost",
            "https://track.bpost.cloud/btr/web/#/search?itemCode={number}&lang={lang}"
            "&postalCode={postcode}",
            frozenset({"BE", "LU"}),
        ),
        Carrier(
            "royal_mail",
            "Royal Mail",
            "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
            frozenset({"GB", "IM", "JE", "GG"}),
        ),
        Carrier(
            "colissimo",
            "Colissimo",
            "https://www.laposte.fr/outils/{lang}?code={number}",
            frozenset({"FR", "MC", "GP", "MQ", "GF", "RE", "YT"}),
            (("nl", "track-a-parcel"), ("en", "track-a-parcel"), ("fr", "suivre-vos-envois")),
        ),
    )
}

# What stores call them ("DHL eCommerce", "PostNL International", "Post NL"), squeezed to
# lower-case letters and digits. Longest first, so "dhlexpress" is not read as "dhl".
_NAMES = {
    "postnl": "postnl",
    "postnlinternational": "postnl",
    "postnlpakketten": "postnl",
    "dhlparcel": "dhl_parcel",
    "dhlparcelnl": "dhl_parcel",
    "dhlparcelbenelux": "dhl_parcel",
    "dhlecommerce": "dhl_parcel",
    "dhlpaket": "dhl_parcel",
    "dhlde": "dhl_parcel",
    "deutschepost": "dhl_parcel",
    "dhlexpress": "dhl_express",
    "dhlworldwide": "dhl_express",
    "dhlexpressworldwide": "dhl_express",
    "dpd": "dpd",
    "dpduk": "dpd",
    "dpdnl": "dpd",
    "dpdde": "dpd",
    "dpdbelgium": "dpd",
    "gls": "gls",
    "glsnl": "gls",
    "glseurope": "gls",
    "ups": "ups",
    "unitedparcelservice": "ups",
    "fedex": "fedex",
    "federalexpress": "fedex",
    "usps": "usps",
    "unitedstatespostalservice": "usps",
    "bpost": "bpost",
    "bpostinternational": "bpost",
    "belgianpost": "bpost",
    "royalmail": "royal_mail",
    "colissimo": "colissimo",
    "laposte": "colissimo",
    "lapostecolissimo": "colissimo",
}
# The postal operator behind a UPU S10 number ("RR123456785NL"), by its last two letters.
_S10_COUNTRY = {
    "NL": "postnl",
    "BE": "bpost",
    "GB": "royal_mail",
    "FR": "colissimo",
    "US": "usps",
    "DE": "dhl_parcel",
}
# Carriers tracking-numbers knows, by its courier code.
_LIBRARY = {"ups": "ups", "fedex": "fedex", "usps": "usps", "dhl": "dhl_express"}
# Numbers without a check digit we can compute; the order settles overlaps.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # PostNL: "3S", a four-character customer code, then the parcel's digits.
    ("postnl", re.compile(r"3S[A-Z0-9]{4}\d{6,11}")),
    # DHL Parcel (Benelux "JVGL…", Germany's "JJD…" and 00340434… parcels).
    ("dhl_parcel", re.compile(r"JVGL\d{8,20}|JJD\d{10,22}|00340434\d{12}")),
    # bpost domestic: 24 digits starting with 32.
    ("bpost", re.compile(r"32\d{22}")),
    # Colissimo: a digit, a letter and eleven digits ("6A12345678901", "8R…").
    ("colissimo", re.compile(r"\d[A-Z]\d{11}")),
    # DPD: 14 digits, sometimes with a check character (ISO 7064 mod 37,36).
    ("dpd", re.compile(r"\d{14}[0-9A-Z]?")),
    # GLS: 11 or 12 digits.
    ("gls", re.compile(r"\d{11,12}")),
]


@dataclass(frozen=True)
class Identified:
    code: str  # "" when unknown
    name: str  # what the customer reads: the store's spelling when it named one
    how: str  # "store", "number" or "" (unknown)

    @property
    def carrier(self) -> Carrier | None:
        return CARRIERS.get(self.code)


def _squeeze(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def carrier_for_name(name: str | None) -> str:
    """The carrier a store's name stands for ("DHL eCommerce" -> dhl_parcel), or ""."""
    squeezed = _squeeze(name or "")
    if not squeezed:
        return ""
    if squeezed in _NAMES:
        return _NAMES[squeezed]
    for known in sorted(_NAMES, key=len, reverse=True):
        if squeezed.startswith(known):
            return _NAMES[known]
    return ""


def clean_number(number: str | None) -> str:
    """A tracking number as carriers print it: no spaces or dashes, upper case."""
    return re.sub(r"[\s\-]", "", number or "").upper()


def carrier_for_number(number: str | None, destination: str = "") -> str:
    """The carrier a tracking number belongs to, or "" when it cannot be told for sure."""
    number = clean_number(number)
    if len(number) < 8:
        return ""
    destination = (destination or "").upper()
    candidates = [code for code, pattern in _PATTERNS if pattern.fullmatch(number)]
    if destination:
        # A format is no proof: a carrier that does not deliver there is not the one.
        candidates = [c for c in candidates if _serves(c, destination)]
    found = get_tracking_number(number)
    library = ""
    if found is not None:
        if found.courier.code == "s10":
            return _S10_COUNTRY.get(number[-2:], "")
        library = _LIBRARY.get(found.courier.code, "")
        if destination and library and not _serves(library, destination):
            library = ""
    if library:
        if number.isdigit() and candidates and library not in candidates:
            # Digits that pass the check digit (one number in ten does, by chance) and fit
            # a local carrier's format as well: no link is better than a wrong one.
            return ""
        return library
    return candidates[0] if len(set(candidates)) == 1 else ""


def _serves(code: str, country: str) -> bool:
    served = CARRIERS[code].serves
    return not served or country.upper() in served


def identify(name: str | None, number: str | None, destination: str = "") -> Identified:
    """The carrier of a parcel: the store's name for it when it gave one, else its number's."""
    code = carrier_for_name(name)
    if not code and _squeeze(name or "") == "dhl":
        # Plain "DHL": its number says which of the two; a parcel in Europe is DHL Parcel.
        code = carrier_for_number(number, destination)
        if code not in ("dhl_express", "dhl_parcel"):
            code = "dhl_parcel" if destination.upper() in EUROPE else "dhl_express"
    if code:
        return Identified(code, (name or "").strip() or CARRIERS[code].name, "store")
    if name and name.strip() and _squeeze(name) not in {"other", "overig", "custom", "unknown"}:
        return Identified("", name.strip(), "store")  # a carrier we do not know: keep its name
    code = carrier_for_number(number, destination)
    if code:
        return Identified(code, CARRIERS[code].name, "number")
    return Identified("", (name or "").strip(), "")


def tracking_url(
    code: str, number: str, *, language: str = "en", country: str = "", postcode: str = ""
) -> str:
    """The carrier's tracking page for a number, in the customer's language where it has one."""
    carrier = CARRIERS.get(code)
    number = clean_number(number)
    if carrier is None or not number:
        return ""
    language = (language or "en")[:2].lower()
    languages = dict(carrier.languages)
    lang = languages.get(language) or languages.get("en") or language
    return carrier.url.format(
        number=quote(number, safe=""),
        lang=quote(lang, safe=""),
        country=quote((country or "NL").upper(), safe=""),
        postcode=quote(re.sub(r"\s", "", postcode or "").upper(), safe=""),
    )
