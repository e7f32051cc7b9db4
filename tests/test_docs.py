"""Docs that must stay true: every error code is listed in docs/errors.md."""

from __future__ import annotations

from pathlib import Path

from giftflow.errors import all_error_classes

ROOT = Path(__file__).resolve().parent.parent


def test_every_error_code_is_documented() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    missing = [c.code for c in all_error_classes() if f"`{c.code}`" not in text]
    assert missing == []


def test_every_account_class_is_documented() -> None:
    from giftflow.ledger.accounts import CHART

    text = (ROOT / "docs" / "accounts.md").read_text()
    missing = [c.name for c in CHART if f"| {c.name} |" not in text]
    assert missing == []


def test_relative_links_in_the_docs_point_at_files_that_exist() -> None:
    import re

    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert broken == []
