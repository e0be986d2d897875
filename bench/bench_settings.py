"""Settings for the intake benchmark: the product's own, plus a ceiling view to compare with."""

from aftercart.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
