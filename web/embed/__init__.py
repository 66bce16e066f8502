"""The billing history inside a business's own app: an iframe authorised by an HMAC the host's server computes."""
