"""The report channel: a unix socket per attempt that its supervisor creates and serves.

A sandboxed agent cannot reach the store (it is not even visible), so `worker report` sends
its status there instead (report_client.py), one JSON line; the answer is one JSON line, or
with `"reply": "text"` the exit code and what to print (report_client.encode_output). The
supervisor applies it to its own attempt only: whatever task or attempt a message names is
ignored. The socket sits in the attempt's run folder, which the sandbox shows read-only (a
socket on a read-only mount can still be connected to, not replaced).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from typing import TYPE_CHECKING, Any

from ai_skills.worker.run.report_client import (
    MAX_MESSAGE,
    TEXT_REPLY,
    encode_output,
    exchange,
    report_output,
    short_address,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ReportServer:
    """Serves one attempt's socket on a thread until closed."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        name, folder = short_address(path)
        try:
            self._sock.bind(name)
        finally:
            if folder is not None:
                os.close(folder)
        os.chmod(path, 0o600)
        self._sock.listen(8)
        import threading  # only the supervisor serves; `worker report` only sends

        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(30)
                request: Any = None
                try:
                    request = json.loads(_read_line(conn))
                    reply = self._handler(request if isinstance(request, dict) else {})
                except (OSError, ValueError) as exc:
                    reply = {"error": f"bad report: {exc}", "exit_code": 2}
                with contextlib.suppress(OSError):
                    conn.sendall(answer(request, reply))

    def close(self) -> None:
        """Stop serving and remove the socket."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def answer(request: Any, reply: dict[str, Any]) -> bytes:
    """The reply on the wire: text when the request asked for it, else (and for a reply that
    is not a report's answer) one JSON line."""
    if isinstance(request, dict) and request.get("reply") == TEXT_REPLY:
        with contextlib.suppress(KeyError, TypeError):
            return encode_output(report_output(reply))
    return json.dumps(reply).encode() + b"\n"


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < MAX_MESSAGE:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def send(path: str | Path, message: dict[str, Any], *, timeout: float = 120) -> dict[str, Any]:
    """Send one JSON message to a supervisor's socket and return its JSON reply."""
    reply = json.loads(exchange(path, json.dumps(message).encode() + b"\n",
                                timeout=timeout).split(b"\n", 1)[0] or b"{}")
    return reply if isinstance(reply, dict) else {}
