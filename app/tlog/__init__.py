"""The public log (一公开 that cannot be rewritten, SPEC rule 8; docs/transparency-log.md).

Pure parts: `merkle` (RFC 9162 hashing and proofs), `note` (C2SP signed notes, checkpoints,
cosignatures), `tiles` (the C2SP tlog-tiles layout). With the database: `service` (append a
leaf, sign a checkpoint, ask the witnesses) and `keys` (the log key, outside the database).
A witness (`spotcheck witness`) is `witness`.
"""
