"""Made-up customers of a Dutch webshop: names, addresses in NL, BE and a few in DE.

Email addresses are at example.com/.net/.org (RFC 2606), so a demo that is pointed at a
real mail server still reaches nobody.
"""

import random
import unicodedata
from dataclasses import dataclass


def _names(text: str, sep: str = " ") -> tuple[str, ...]:
    return tuple(text.split(sep))


FIRST = {
    "NL": _names(
        "Sanne Emma Julia Lotte Anouk Fleur Lisa Eva Sophie Iris Noor Femke Marloes Inge "
        "Esther Linda Petra Karin Mirjam Annemieke Daan Sem Lucas Thijs Jesse Bram Ruben "
        "Tim Niels Stijn Jeroen Bas Martijn Sander Joost Wouter Pieter Henk Gerrit Kees"
    ),
    "BE": _names(
        "Lien Ine Elke Katrien Sofie Hanne Leen Annelies Marie Lore Jolien Fien Wout Pieter "
        "Jens Thomas Arne Bert Koen Stijn Joris Dries Sander Tom Bart Wim Jonas Lars Robbe"
    ),
    "DE": _names(
        "Anna Lena Katharina Julia Sabine Claudia Petra Laura Jonas Lukas Felix Maximilian "
        "Thomas Michael Stefan Andreas Jan Tobias"
    ),
}
LAST = {
    "NL": _names(
        "de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|Meijer|"
        "de Boer|Mulder|de Groot|Bos|Vos|Peters|Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|"
        "Dijkstra|Smits|de Graaf|van der Meer|van der Linden|Kok|Jacobs|de Haan|Vermeulen|"
        "van den Heuvel|van der Veen|van den Broek|de Bruijn|Schouten|van Beek|Willems|"
        "van Vliet|Hoekstra|Maas|Verhoeven|Koster|Prins|Huisman|Postma|Kuipers|Veenstra",
        "|",
    ),
    "BE": _names(
        "Peeters|Janssens|Maes|Jacobs|Mertens|Willems|Claes|Goossens|Wouters|De Smet|"
        "Dubois|Vermeulen|Van Damme|De Clercq|Pauwels|Hermans|Aerts|Michiels|Desmet|"
        "Van de Velde|Verstraete|Lambrechts|De Backer|Declercq|Verhaeghe|Coppens",
        "|",
    ),
    "DE": _names(
        "Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|"
        "Koch|Richter|Klein|Wolf|Schröder|Neumann",
        "|",
    ),
}
# (city, first postcode digits low–high, relative number of customers)
CITIES = {
    "NL": (
        ("Amsterdam", 1011, 1109, 16),
        ("Rotterdam", 3011, 3089, 9),
        ("Den Haag", 2491, 2597, 7),
        ("Utrecht", 3511, 3585, 8),
        ("Eindhoven", 5611, 5658, 4),
        ("Groningen", 9711, 9747, 4),
        ("Tilburg", 5011, 5049, 3),
        ("Almere", 1311, 1365, 3),
        ("Breda", 4811, 4839, 3),
        ("Nijmegen", 6511, 6546, 3),
        ("Haarlem", 2011, 2037, 4),
        ("Arnhem", 6811, 6846, 3),
        ("Zwolle", 8011, 8043, 2),
        ("Leiden", 2311, 2334, 3),
        ("Maastricht", 6211, 6229, 2),
        ("Amersfoort", 3811, 3829, 2),
        ("Delft", 2611, 2629, 2),
        ("Leeuwarden", 8911, 8939, 1.5),
        ("'s-Hertogenbosch", 5211, 5237, 2),
        ("Apeldoorn", 7311, 7339, 1.5),
        ("Zaandam", 1501, 1507, 2),
        ("Hilversum", 1211, 1223, 1.5),
        ("Deventer", 7411, 7429, 1),
        ("Alkmaar", 1811, 1834, 1.5),
    ),
    "BE": (
        ("Antwerpen", 2000, 2060, 8),
        ("Gent", 9000, 9052, 7),
        ("Brussel", 1000, 1000, 4),
        ("Leuven", 3000, 3001, 4),
        ("Brugge", 8000, 8000, 3),
        ("Mechelen", 2800, 2800, 2),
        ("Hasselt", 3500, 3500, 2),
        ("Kortrijk", 8500, 8500, 2),
        ("Aalst", 9300, 9300, 1.5),
        ("Sint-Niklaas", 9100, 9100, 1),
    ),
    "DE": (
        ("Köln", 50667, 51149, 3),
        ("Düsseldorf", 40210, 40629, 2),
        ("Aachen", 52062, 52080, 2),
        ("Münster", 48143, 48167, 1.5),
        ("Berlin", 10115, 14199, 2),
        ("Hamburg", 20095, 22769, 1.5),
    ),
}
STREETS = {
    "NL": _names(
        "Kerkstraat|Dorpsstraat|Stationsweg|Molenstraat|Schoolstraat|Julianastraat|"
        "Beatrixlaan|Wilhelminastraat|Oranjestraat|Lindelaan|Eikenlaan|Havenstraat|"
        "Vondelstraat|Prinsengracht|Oudegracht|Nieuwe Binnenweg|Marktstraat|Parkweg|"
        "Kastanjelaan|Zeestraat|Emmastraat|Irisstraat|Tulpstraat|Merelstraat|Sportlaan",
        "|",
    ),
    "BE": _names(
        "Kerkstraat|Stationsstraat|Veldstraat|Nieuwstraat|Kortrijksesteenweg|Diestsestraat|"
        "Brusselsesteenweg|Molenstraat|Schoolstraat|Dorpsstraat|Lange Nieuwstraat|Meir",
        "|",
    ),
    "DE": _names(
        "Hauptstraße|Bahnhofstraße|Schillerstraße|Goethestraße|Lindenallee|Gartenstraße|"
        "Kirchstraße|Bergstraße",
        "|",
    ),
}
COUNTRY_WEIGHTS = (("NL", 72), ("BE", 24), ("DE", 4))
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
LOCALE = {"NL": "nl", "BE": "nl", "DE": "en"}


@dataclass
class Person:
    first_name: str
    last_name: str
    email: str
    country: str
    city: str
    postcode: str
    street: str
    locale: str
    phone: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _postcode(rng: random.Random, country: str, low: int, high: int) -> str:
    number = rng.randint(low, high)
    if country == "NL":
        letters = "ABCDEGHJKLMNPRSTVWXZ"
        return f"{number} {rng.choice(letters)}{rng.choice(letters)}"
    return f"{number:05d}" if country == "DE" else str(number)


def make_person(rng: random.Random, taken: set[str]) -> Person:
    """One customer, with an email address not in taken (which it joins)."""
    country = rng.choices([c for c, _ in COUNTRY_WEIGHTS], [w for _, w in COUNTRY_WEIGHTS])[0]
    city, low, high, _ = rng.choices(CITIES[country], [c[3] for c in CITIES[country]])[0]
    first, last = rng.choice(FIRST[country]), rng.choice(LAST[country])
    style = rng.random()
    if style < 0.5:
        local = f"{_ascii(first)}.{_ascii(last)}"
    elif style < 0.8:
        local = f"{_ascii(first)[0]}{_ascii(last)}"
    else:
        local = f"{_ascii(first)}{rng.randint(70, 99)}"
    domain = rng.choice(EMAIL_DOMAINS)
    email, n = f"{local}@{domain}", 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{domain}"
    taken.add(email)
    phone = ""
    if rng.random() < 0.55:
        prefix = {"NL": "+31 6", "BE": "+32 4", "DE": "+49 15"}[country]
        phone = f"{prefix} {rng.randint(10000000, 99999999)}"
    return Person(
        first_name=first,
        last_name=last,
        email=email,
        country=country,
        city=city,
        postcode=_postcode(rng, country, low, high),
        street=f"{rng.choice(STREETS[country])} {rng.randint(1, 180)}",
        locale=LOCALE[country],
        phone=phone,
    )
