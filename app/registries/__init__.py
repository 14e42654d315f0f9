"""一单两库: the items, targets and inspectors registries."""
