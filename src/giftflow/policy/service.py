"""Which policy is in force, and the operators' versions: list, view, validate, publish.

The versions of the server's profile (``GIFTFLOW_POLICY_PROFILE``) are the stored ones, or,
while none is stored, the shipped profile file. The one in force at ``t`` is the latest whose
``effective_from`` has passed (``PolicyBook.active_at``); every transaction records the label of
the version it was computed under, so publishing a version never changes history.

A new version must be the profile's, numbered above every version, take force after the
latest one and not in the past: ``effective_from`` up to ``PAST_GRACE`` ago means "now" and is
stored as the server's time (a console sending "now" arrives a moment later); earlier is a
problem. Publishing the first version of a profile that only ran on its shipped file stores
that file first, so the history stays whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.errors import InvalidPolicy, NotFound, PolicyVersionExists
from giftflow.money.policy import Policy, load_profile, parse_policy
from giftflow.money.repository import PolicySource
from giftflow.policy import repository
from giftflow.policy.schemas import (
    PolicyCheckOut,
    PolicyOut,
    PolicyVersionDocumentOut,
    PolicyVersionOut,
    PolicyVersionsPage,
)

PAST_GRACE = timedelta(minutes=5)


def policy_document(ctx: AppContext) -> PolicyOut:
    policy = ctx.policies.in_force(ctx.clock.now())
    return PolicyOut(label=policy.version_label, **policy.model_dump())


@dataclass(frozen=True, slots=True)
class Entry:
    policy: Policy
    created_at: datetime | None  # None: the shipped file


def _entries(ctx: AppContext) -> list[Entry]:
    """The profile's versions by ``effective_from`` (the stored ones, else the shipped file)."""
    profile = ctx.settings.policy_profile
    stored = repository.read_versions(ctx.engine, profile)
    entries = (
        [Entry(v.policy, v.created_at) for v in stored]
        if stored
        else [Entry(load_profile(profile), None)]
    )
    return sorted(entries, key=lambda e: e.policy.effective_from)


def _in_force(entries: list[Entry], now: datetime) -> Policy | None:
    passed = [e for e in entries if e.policy.effective_from <= now]
    return passed[-1].policy if passed else None


def _out(entry: Entry, in_force: Policy | None, now: datetime) -> dict[str, Any]:
    p = entry.policy
    return {
        "label": p.version_label,
        "policy_id": p.id,
        "version": p.version,
        "effective_from": rfc3339(p.effective_from),
        "created_at": rfc3339(entry.created_at) if entry.created_at is not None else None,
        "description": p.description,
        "in_force": in_force is not None and p.version_label == in_force.version_label,
        "scheduled": p.effective_from > now,
        "stored": entry.created_at is not None,
    }


def versions(ctx: AppContext) -> PolicyVersionsPage:
    """The profile's versions, newest first, marking the one in force and scheduled ones."""
    now = ctx.clock.now()
    entries = _entries(ctx)
    in_force = _in_force(entries, now)
    return PolicyVersionsPage(
        data=[PolicyVersionOut(**_out(e, in_force, now)) for e in reversed(entries)]
    )


def version(ctx: AppContext, label: str) -> PolicyVersionDocumentOut:
    """One version of the profile with its whole document."""
    now = ctx.clock.now()
    entries = _entries(ctx)
    in_force = _in_force(entries, now)
    for e in entries:
        if e.policy.version_label == label:
            return PolicyVersionDocumentOut(
                **_out(e, in_force, now), document=e.policy.model_dump(mode="json")
            )
    raise NotFound("No such policy version.", label=label)


def label_of(document: dict[str, Any]) -> str | None:
    """``id@version`` as the document states them, before any validation (for the audit)."""
    pid, number = document.get("id"), document.get("version")
    if isinstance(pid, str) and isinstance(number, int) and not isinstance(number, bool):
        return f"{pid}@{number}"[:100]
    return None


def _check(ctx: AppContext, document: dict[str, Any]) -> tuple[Policy | None, list[str], bool]:
    """(the parsed policy, every problem, whether its label is already taken)."""
    try:
        policy = parse_policy(json.dumps(document))
    except InvalidPolicy as exc:
        return None, list(exc.details.get("problems") or [exc.message]), False
    profile = ctx.settings.policy_profile
    if policy.id != profile:
        return (
            policy,
            [
                f"id: this server runs the {profile!r} profile; a version of {policy.id!r} "
                "would never be in force"
            ],
            False,
        )
    problems: list[str] = []
    entries = _entries(ctx)
    latest = max(entries, key=lambda e: e.policy.version).policy
    last_start = entries[-1].policy
    taken = any(e.policy.version == policy.version for e in entries)
    if taken:
        problems.append(
            f"version: {policy.version_label} already exists and versions are immutable; "
            f"publish version {latest.version + 1}"
        )
    elif policy.version < latest.version:
        problems.append(
            f"version: must be above {latest.version_label}, the latest version "
            f"(publish {latest.version + 1})"
        )
    if not taken and policy.effective_from <= last_start.effective_from:
        problems.append(
            f"effective_from: must be after {rfc3339(last_start.effective_from)}, when "
            f"{last_start.version_label} takes force"
        )
    if policy.effective_from < ctx.clock.now() - PAST_GRACE:
        problems.append(
            "effective_from: is in the past; a version takes force now or later, so that "
            "no transaction already made changes its rules"
        )
    return policy, problems, taken


def check(ctx: AppContext, document: dict[str, Any]) -> PolicyCheckOut:
    """Every problem publishing ``document`` would meet, without storing it."""
    policy, problems, _ = _check(ctx, document)
    label = policy.version_label if policy is not None else label_of(document)
    return PolicyCheckOut(valid=not problems, label=label, problems=problems)


def publish(ctx: AppContext, document: dict[str, Any]) -> PolicyVersionDocumentOut:
    """Store a new version (immutable from then on): ``policy_version_exists`` (409) for a
    label already stored, ``invalid_policy`` (422, ``details.problems``) for any other
    problem. The process re-reads its versions at once; other processes within seconds."""
    policy, problems, taken = _check(ctx, document)
    if taken and policy is not None:
        raise PolicyVersionExists(
            f"{policy.version_label} is already stored; versions are immutable.",
            label=policy.version_label,
        )
    if policy is None or problems:
        raise InvalidPolicy("; ".join(problems), problems=problems)
    now = ctx.clock.now()
    if policy.effective_from < now:  # within the grace: "now"
        policy = policy.model_copy(update={"effective_from": now})
    profile = ctx.settings.policy_profile
    stored = repository.read_versions(ctx.engine, profile)
    first = load_profile(profile) if not stored else None
    repository.publish(ctx.engine, policy, now, first=first)
    ctx.policies = PolicySource(ctx.engine, profile)  # this process sees it at once
    return version(ctx, policy.version_label)
