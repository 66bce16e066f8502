"""Data layer: migrations and query functions, the only place with SQL."""
