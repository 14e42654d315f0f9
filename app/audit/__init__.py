"""全程留痕: hash-chained audit log."""
