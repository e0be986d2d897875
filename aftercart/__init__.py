"""Aftercart: a self-hosted post-purchase engine for online shops."""

__version__ = "0.1.0"
