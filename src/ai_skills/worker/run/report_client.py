"""`worker report` inside an attempt: send the report to the supervisor's socket, print its answer.

An agent runs this after every step, so it imports only what it cannot do without: `socket`
wraps the C module `_socket` in enums and selectors, and `json` brings `re`; each costs
three quarters of a Python start-up (benchmarks/worker_bench.py). So the request, a JSON
line the supervisor decodes (report_socket.py), is written here by hand, and it asks for
the answer as text ready to print; only `--json` (and an older supervisor, which answers
JSON whatever it is asked) decodes JSON.
"""

from __future__ import annotations

import os

from ai_skills.worker.errors import EXIT_CONFLICT, ChannelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    Output = tuple[int, str, str]  # exit code, stdout, stderr

MAX_MESSAGE = 64 * 1024  # a line either way, or a text answer
TEXT_REPLY = "text"  # the request's `reply` for an answer ready to print
UNIX_PATH_MAX = 100  # sun_path holds 108 bytes; longer paths go through /proc/self/fd

# What `json.dumps(text, ensure_ascii=False)` escapes: the quote, the backslash and the
# control characters (everything else stands for itself in UTF-8 JSON).
_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x20)} | {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}


def json_string(text: str) -> str:
    """`text` as a JSON string literal."""
    return '"' + text.translate(_ESCAPES) + '"'


def report_request(*, status: str, message: str, key: str | None, as_json: bool) -> bytes:
    """The request line: the report, and the form of the answer (text unless --json)."""
    fields = [f'"status": {json_string(status)}', f'"message": {json_string(message)}',
              f'"key": {"null" if key is None else json_string(key)}']
    if not as_json:
        fields.append(f'"reply": "{TEXT_REPLY}"')
    return ("{" + ", ".join(fields) + "}\n").encode()


def report_output(reply: dict[str, Any]) -> Output:
    """What `worker report` prints for a result (`{"result": ...}`) or an error answer."""
    if "error" in reply:
        return int(reply.get("exit_code", 1)), "", f"worker: error: {reply['error']}\n"
    result = reply["result"]
    if result["accepted"]:
        return 0, f"{result['task_id']}: {result['state']}\n", ""
    # An agent of a superseded attempt learns it should stop.
    return EXIT_CONFLICT, "", f"worker: {result['note']}\n"


def encode_output(output: Output) -> bytes:
    """A text answer on the wire: `CODE LENGTH-OF-STDOUT`, a newline, stdout, stderr."""
    code, out, err = output
    stdout = out.encode()
    return f"{code} {len(stdout)}\n".encode() + stdout + err.encode()


def decode_output(data: bytes) -> Output:
    """The exit code, stdout and stderr of a text answer (ValueError when it is not one)."""
    head, _, rest = data.partition(b"\n")
    code, length = (int(word) for word in head.split(b" "))
    if not 0 <= length <= len(rest):
        raise ValueError("the answer is shorter than its header says")
    return code, rest[:length].decode(), rest[length:].decode()


def send_report(
    path: str | Path, *, status: str, message: str, key: str | None, as_json: bool
) -> Output | dict[str, Any]:
    """Send a report; the text to print, or with `as_json` the result (ChannelError if none)."""
    request = report_request(status=status, message=message, key=key, as_json=as_json)
    try:
        data = exchange(path, request)
        if data[:1].isdigit():
            return decode_output(data)
        # JSON: asked for, or from a supervisor older than text answers (or nothing at all)
        import json

        reply = json.loads(data.split(b"\n", 1)[0] or b"{}")
    except (OSError, ValueError) as exc:
        raise ChannelError(
            detail=f"the supervisor of this attempt does not answer on {path} ({exc}); the "
            "report was not delivered. If the supervisor died, the task stalls once its lease "
            "expires and `worker start` resumes it"
        ) from exc
    if isinstance(reply, dict) and "error" in reply:
        raise ChannelError(detail=str(reply["error"]), exit_code=int(reply.get("exit_code", 1)))
    result = reply.get("result") if isinstance(reply, dict) else None
    if not isinstance(result, dict):
        raise ChannelError(detail=f"the supervisor sent no result on {path}")
    return result if as_json else report_output({"result": result})


def exchange(path: str | Path, request: bytes, *, timeout: float = 120) -> bytes:
    """Send `request` to the socket at `path`; everything it answers until it closes."""
    # The C module under `socket`: the wrapper's enums and selectors cost more than a report.
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        name, folder = short_address(path)
        try:
            sock.connect(name)
        finally:
            if folder is not None:
                os.close(folder)
        sock.sendall(request)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_MESSAGE and (chunk := sock.recv(65536)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def short_address(path: str | Path) -> tuple[str, int | None]:
    """A name for `path` short enough for a unix socket address, and the folder descriptor
    the name goes through (close it once bound or connected), if any."""
    name = os.fspath(path)
    if len(name) <= UNIX_PATH_MAX:
        return name, None
    folder = os.open(os.path.dirname(name) or ".", os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{folder}/{os.path.basename(name)}", folder
