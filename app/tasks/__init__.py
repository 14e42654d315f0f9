"""Tasks, results, follow-up and the weekly report."""
