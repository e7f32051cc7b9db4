"""HTTP plumbing shared by every feature's routes: the app context, errors, idempotent writes."""
