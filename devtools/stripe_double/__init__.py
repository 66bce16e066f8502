"""The project's local Stripe double: localstripe (GPL, run as a separate process, never imported by the app)
extended with what the portal needs and localstripe lacks. Started by devtools/localstripe_server.py."""
