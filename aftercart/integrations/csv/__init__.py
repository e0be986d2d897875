"""Order history from CSV: Shopify's order export and the generic format (docs/csv.md)."""
