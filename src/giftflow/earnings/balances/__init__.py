"""The earnings view, the hold release job, clawbacks and statements."""
