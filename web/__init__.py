"""Invoice portal web application."""
