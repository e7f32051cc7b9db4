"""Prometheus metrics, per process (each server worker exposes its own at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WRITER_COMMANDS = Counter(
    "giftflow_writer_commands_total", "Commands applied by the ledger writer.", ["outcome"]
)
WRITER_REJECTED = Counter(
    "giftflow_writer_rejected_total", "Commands refused because the writer queue was full."
)
WRITER_FAILED_BATCHES = Counter(
    "giftflow_writer_failed_batches_total", "Batch transactions that failed and were split."
)
WRITER_QUEUE = Gauge("giftflow_writer_queue_depth", "Commands waiting for the writer.")
WRITER_BATCH_SIZE = Histogram(
    "giftflow_writer_batch_size",
    "Commands per committed batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
WRITER_BATCH_SECONDS = Histogram(
    "giftflow_writer_batch_seconds", "Time to apply and commit one batch."
)
HTTP_REQUESTS = Counter(
    "giftflow_http_requests_total", "HTTP requests served.", ["method", "route", "status"]
)

# --- operators: reconcile and the audit log (issue 11) ----------------------------------------
RECONCILE_DIFFERENCES = Gauge(
    "giftflow_reconcile_differences",
    "Differences the last finished reconcile found (a failed run leaves the previous value).",
)
RECONCILE_LAST_RUN = Gauge(
    "giftflow_reconcile_last_run_timestamp_seconds",
    "When the last reconcile run finished (Unix time), whatever its outcome.",
)
RECONCILE_CLEAN = Gauge(
    "giftflow_reconcile_clean",
    "1 if the last reconcile run found the ledger clean, 0 if it found differences or failed.",
)
AUDIT_WRITE_FAILURES = Counter(
    "giftflow_audit_write_failures_total", "Audit log rows that could not be written."
)

# Fraud signals waiting for an operator, by kind (set by each fraud scan and each resolve from
# the database's count, so every process reports the same numbers).
FRAUD_FLAGS_OPEN = Gauge("giftflow_fraud_flags_open", "Open fraud flags, by kind.", ["kind"])
