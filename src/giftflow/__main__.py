"""``python -m giftflow`` runs the CLI."""

from giftflow.cli import app

app()
