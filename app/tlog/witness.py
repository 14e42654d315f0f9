"""`spotcheck witness`: what an independent body (纪检监察组, 审计局, a neighbouring 医保局) runs
on its own machine with its own key, to cosign the public log's checkpoints.

It speaks the C2SP tlog-witness protocol: the log POSTs ``/add-checkpoint`` with
``old <size>``, the consistency proof from that size (base64 lines), a blank line and the
checkpoint signed by the log key. The witness checks the log's signature (it knows the log's
public key), that ``old`` is the size it cosigned last (409 with ``text/x.tlog.size`` and its
own size otherwise), the consistency proof from the root it holds to the new one (422 if it
fails: the log was rewritten), and answers with a ``cosignature/v1`` line timestamped by its
own clock. It keeps the newest checkpoint it cosigned per log in its own state file (never the
log's database): a log that rolls back or shows two different trees of one size is refused.

Its clock is the system's unless a clock file is given (tests: a file holding POSIX seconds,
read at each request, so that witnesses with different clocks run as separate processes and
no test sleeps).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.tlog import note
from app.tlog.merkle import ProofError, verify_consistency

MAX_BODY = 1 << 16
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, content type, body."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def file_clock(path: Path | None) -> Callable[[], int]:
    """The witness's clock: POSIX seconds from `path` (read each time) or the system's."""
    if path is None:
        return lambda: int(time.time())
    return lambda: int(path.read_text(encoding="ascii").strip())


class Witness:
    """The witness's rules, independent of HTTP."""

    def __init__(
        self,
        signer: note.Signer,
        logs: list[note.Verifier],
        state_file: Path,
        clock: Callable[[], int],
    ) -> None:
        if signer.alg != note.ALG_COSIGNATURE_V1:
            raise note.NoteError("见证人密钥须为 cosignature/v1 类型 (not a cosigner key)")
        self.signer = signer
        self.logs = {v.name: v for v in logs}
        self.state_file = state_file
        self.clock = clock
        self._lock = threading.Lock()

    def _state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def add_checkpoint(self, body: bytes) -> Answer:
        """Handles one add-checkpoint request."""
        try:
            old, proof, signed = _parse_request(body)
            checkpoint_note = note.parse_note(signed)
            cp = note.parse_checkpoint(checkpoint_note.text)
        except (note.NoteError, ValueError) as exc:
            return Answer(400, f"请求格式错误 (bad request): {exc}\n")
        log_key = self.logs.get(cp.origin)
        if log_key is None:
            return Answer(404, f"未知的日志 (unknown log): {cp.origin}\n")
        try:
            note.verify_note(checkpoint_note, log_key)
        except note.NoteError as exc:
            return Answer(403, f"日志签名不成立 (bad log signature): {exc}\n")
        with self._lock:
            state = self._state()
            held = state.get(cp.origin, {"size": 0, "root": ""})
            if old != held["size"]:
                return Answer(409, f"{held['size']}\n", SIZE_TYPE)
            if cp.size < old:
                return Answer(400, "检查点小于已联署的树 (checkpoint smaller than old size)\n")
            try:
                if old > 0:
                    verify_consistency(old, cp.size, bytes.fromhex(held["root"]), cp.root, proof)
                elif proof:
                    raise ProofError("空树的一致性证明应为空")
            except ProofError as exc:
                return Answer(422, f"一致性证明不成立，日志被改写 (not consistent): {exc}\n")
            timestamp = self.clock()
            sig = note.cosign(checkpoint_note.text, self.signer, timestamp)
            state[cp.origin] = {"size": cp.size, "root": cp.root.hex(), "time": timestamp}
            self._save(state)
        return Answer(200, sig.line)


def _parse_request(body: bytes) -> tuple[int, list[bytes], bytes]:
    text = body.decode("utf-8")
    head, sep, signed = text.partition("\n\n")
    if not sep:
        raise ValueError("缺少空行 (no blank line)")
    lines = head.split("\n")
    if not lines[0].startswith("old ") or not lines[0][4:].isdigit():
        raise ValueError("首行应为 old <size>")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except binascii.Error:
        raise ValueError("证明无法解码 (bad proof encoding)") from None
    if any(len(p) != 32 for p in proof) or len(proof) > 63:
        raise ValueError("证明格式错误 (bad proof)")
    return int(lines[0][4:]), proof, signed.encode()


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server answering POST /add-checkpoint."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.rstrip("/").rsplit("/", 1)[-1] != "add-checkpoint":
                self._send(Answer(404, "not found\n"))
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(Answer(413, "too large\n"))
                return
            self._send(witness.add_checkpoint(self.rfile.read(length)))

        def _send(self, answer: Answer) -> None:
            data = answer.body.encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
