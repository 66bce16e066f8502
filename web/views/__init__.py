"""Thin request handlers, grouped by resource."""
