"""Web pages served by the API process; every asset is local (no CDN at run time)."""
