"""Admin value endpoints: transfers, reversals and pending transfers, through the ledger writer."""
