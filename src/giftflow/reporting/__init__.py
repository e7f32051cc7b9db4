"""SQL that more than one report reads (exact sums, the value of coin lots); it knows no feature."""
