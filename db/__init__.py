"""The data layer: migrations and query functions per table. All of the application's SQL is here."""
