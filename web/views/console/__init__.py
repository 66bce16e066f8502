"""Console pages. Every view is wrapped by web.console.guard.console_view: signed in, CSRF-checked, role-checked."""
