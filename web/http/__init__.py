"""What every handler shares: page or fragment, form reading, errors, security headers, templating."""
