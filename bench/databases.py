"""A throwaway PostgreSQL database per benchmark run, on the server the given URL names."""

import os

import psycopg


def fresh_postgres(url: str, prefix: str = "aftercart_bench") -> str:
    """A new, empty database beside the one in `url`; returns its URL."""
    name = f"{prefix}_{os.getpid()}"
    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def drop_postgres(url: str) -> None:
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
