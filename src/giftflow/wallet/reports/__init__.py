"""Finance figures of the wallet flows (JSON and CSV)."""
