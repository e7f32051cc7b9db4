"""Who is calling: platform API keys with scopes, and short-lived user JWTs."""
