"""spotcheck: 双随机、一公开 spot checks of medical-insurance fund use."""

import sys

# py-ecc (drand beacons, app/draw/beacon.py) raises Python's recursion limit to 100,000 when its
# package is first imported (py_ecc/__init__.py); with that limit a deeply nested JSON document
# overflows the C stack of the json parser (a segfault) instead of raising RecursionError.
# Imported here, before any module of ours can, and the limit put back as it was.
_RECURSION_LIMIT = sys.getrecursionlimit()
import py_ecc  # noqa: E402, F401

sys.setrecursionlimit(_RECURSION_LIMIT)
