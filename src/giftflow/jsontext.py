"""JSON text the writer stores: stored outcomes, transaction meta and room events.

``orjson`` writes compact UTF-8 JSON about ten times faster than ``json.dumps``; a batch of a
thousand gifts serialises a thousand responses and a thousand room events inside the writer's
loop (~10% of its time with the standard library). The text is only ever read back as JSON, so
its spacing is free to differ from ``json.dumps``'s. Request fingerprints
(``ledger.idempotency.fingerprint``) keep their own canonical form and do not use this.
"""

from __future__ import annotations

from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """Compact JSON, keys in their order (as ``json.dumps`` with "," and ":" separators)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def dumps_sorted(value: Any) -> str:
    """Compact JSON with keys sorted, for stored documents compared or diffed by people."""
    return orjson.dumps(value, option=_SORTED).decode()
