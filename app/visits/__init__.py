"""Visits (一次检查): the one record of each inspection and the one rule of what counts
(`rule.py`, pure), written in the transactions that change them (`service.py`)."""
