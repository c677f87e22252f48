"""The report channel: a unix socket per attempt that its supervisor creates and serves.

A sandboxed agent cannot reach the store (it is not even visible), so `worker report` sends
its status there instead, one JSON line each way. The supervisor applies it to its own
attempt only: whatever task or attempt a message names is ignored. The socket sits in the
attempt's run folder, which the sandbox shows read-only (a socket on a read-only mount can
still be connected to, not replaced).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket

TYPE_CHECKING = False  # `worker report` sends here: typing and pathlib cost it milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Any

    Handler = Callable[[dict[str, Any]], dict[str, Any]]

_MAX_MESSAGE = 64 * 1024
_UNIX_PATH_MAX = 100  # sun_path holds 108 bytes; longer paths go through /proc/self/fd


@contextlib.contextmanager
def _short(path: str | Path) -> Iterator[str]:
    """A name for `path` short enough for a unix socket address."""
    name = os.fspath(path)
    if len(name) <= _UNIX_PATH_MAX:
        yield name
        return
    fd = os.open(os.path.dirname(name) or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{os.path.basename(name)}"
    finally:
        os.close(fd)


class ReportServer:
    """Serves one attempt's socket on a thread until closed."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        with _short(path) as name:
            self._sock.bind(name)
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
                try:
                    request = json.loads(_read_line(conn))
                    reply = self._handler(request if isinstance(request, dict) else {})
                except (OSError, ValueError) as exc:
                    reply = {"error": f"bad report: {exc}", "exit_code": 2}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode() + b"\n")

    def close(self) -> None:
        """Stop serving and remove the socket."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < _MAX_MESSAGE:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def send(path: str | Path, message: dict[str, Any], *, timeout: float = 120) -> dict[str, Any]:
    """Send one message to a supervisor's socket and return its reply (OSError when gone)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        with _short(path) as name:
            sock.connect(name)
        sock.sendall(json.dumps(message).encode() + b"\n")
        reply = json.loads(_read_line(sock) or b"{}")
    return reply if isinstance(reply, dict) else {}


def send_report(
    path: str | Path, *, status: str, message: str, key: str | None
) -> dict[str, Any]:
    """`worker report` inside an attempt: the supervisor's answer (a ReportResult as data)."""
    from ai_skills.worker.errors import ChannelError

    try:
        reply = send(path, {"status": status, "message": message, "key": key})
    except (OSError, ValueError) as exc:
        raise ChannelError(
            detail=f"the supervisor of this attempt does not answer on {path} ({exc}); the "
            "report was not delivered. If the supervisor died, the task stalls once its lease "
            "expires and `worker start` resumes it"
        ) from exc
    if "error" in reply:
        raise ChannelError(detail=str(reply["error"]), exit_code=int(reply.get("exit_code", 1)))
    result = reply.get("result")
    if not isinstance(result, dict):
        raise ChannelError(detail=f"the supervisor sent no result on {path}")
    return result
