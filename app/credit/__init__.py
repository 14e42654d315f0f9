"""信用 (credit) integration: grades in, results out, statistics of draws."""
