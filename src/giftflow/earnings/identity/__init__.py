"""KYC status and the second factor (TOTP with recovery codes)."""
