"""In-app items (effects, stickers) bought with coins."""
