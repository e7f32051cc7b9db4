"""The double-entry core: accounts, postings, balances, the batching writer, idempotency,
pending transfers and reconcile. It knows nothing about gifts or HTTP."""
