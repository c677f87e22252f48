"""A scripted model server on 127.0.0.1 that real coding-agent CLIs talk to, offline.

It speaks four wire formats, each as the real API streams it (server-sent events):

- Anthropic Messages, `POST /v1/messages` (Claude Code, via `ANTHROPIC_BASE_URL`);
- OpenAI Responses, `POST /v1/responses` (Codex, via a `[model_providers.x]` entry with
  `wire_api = "responses"`);
- OpenAI chat completions, `POST /v1/chat/completions` (OpenCode, via an `opencode.json`
  provider using `@ai-sdk/openai-compatible`);
- Gemini API, `POST /v1beta/models/MODEL:streamGenerateContent?alt=sse` (Gemini CLI, via
  `GOOGLE_GEMINI_BASE_URL`), and its unstreamed `:generateContent` for side requests.

A `Script` says what to answer, turn by turn: text, a shell tool call, an HTTP 429, or the
provider's quota error. Every request body is recorded (`server.requests`), which is how the
tests see what an agent sent: its prompt, its tools, and the skills it found.

Only requests that offer tools take a turn from the script: agents also ask the model for
side jobs (a session title, a summary) without tools, and those get a short text answer.
Another wire format is one more `Wire` subclass and one more entry in
`ROUTES`. The server listens on 127.0.0.1 only: an agent in a sandbox reaches it as long as
the sandbox shares the host's network (bubblewrap without `--unshare-net`).

Used by tests/agents/ and by bin/demo-worker; run it by hand with
`python tests/agents/model_server.py` to see what an agent sends.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# --- what to answer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """Answer with text and end the turn (the agent then stops, in headless mode)."""

    text: str


@dataclass(frozen=True)
class Shell:
    """Ask the agent to run a shell command with its own shell tool (Bash, shell, bash)."""

    command: str
    note: str = "Running a command."


@dataclass(frozen=True)
class Call:
    """Call any tool the agent offers by name (e.g. Claude Code's `Write`) with these inputs."""

    tool: str
    arguments: dict[str, Any]
    note: str = "Calling a tool."


@dataclass(frozen=True)
class Status:
    """Answer with this HTTP status and the provider's own error body for it."""

    code: int = 429
    retry_after: float | None = 1.0


@dataclass(frozen=True)
class Quota:
    """The provider's quota / usage-limit error, shaped as its real API sends it."""

    retry_after: float | None = None


Turn = Text | Shell | Call | Status | Quota
Answer = Text | Shell | Call  # the turns a wire streams (the others are HTTP errors)
# A turn may also be decided from what the agent sent (e.g. a command taken from its prompt).
Step = Turn | Callable[["Request"], Turn]


@dataclass
class Script:
    """Turns answered in order to requests that offer tools; then `after` forever.

    `repeat_last`: keep answering the last turn (a provider that stays rate-limited).
    """

    turns: list[Step]
    after: Step = field(default_factory=lambda: Text("Finished."))
    repeat_last: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next: int = 0

    def take(self, request: Request) -> Turn:
        """The next turn (thread-safe: agents may send requests in parallel)."""
        with self._lock:
            if self._next < len(self.turns):
                step = self.turns[self._next]
                self._next += 1
            elif self.repeat_last and self.turns:
                step = self.turns[-1]
            else:
                step = self.after
        return step(request) if callable(step) else step

    @property
    def used(self) -> int:
        """How many scripted turns were answered so far."""
        with self._lock:
            return self._next


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    wire: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    turn: Turn | None  # None: a side request (no tools offered) answered with plain text

    @property
    def text(self) -> str:
        """The whole body as text: prompts, tool lists and skill listings are all in it."""
        return json.dumps(self.body, ensure_ascii=False)


# --- wire formats ---------------------------------------------------------------------------


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event."""
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


class Wire:
    """One provider's API: which requests offer tools, and how answers are framed."""

    name = ""
    streamed = True  # False: `complete` gives one JSON body instead of `stream`'s events

    def has_tools(self, body: dict[str, Any]) -> bool:
        return bool(body.get("tools"))

    def stream(self, body: dict[str, Any], turn: Answer) -> Iterator[bytes]:
        raise NotImplementedError

    def complete(self, body: dict[str, Any], turn: Answer) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, turn: Status | Quota) -> tuple[int, dict[str, str], dict[str, Any]]:
        raise NotImplementedError

    def tool_name(self, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def shell_arguments(self, name: str, turn: Shell) -> str:
        return json.dumps({"command": turn.command, "description": turn.note})

    def call(self, body: dict[str, Any], turn: Shell | Call) -> tuple[str, str]:
        """(tool name, JSON arguments) of a tool-calling turn."""
        if isinstance(turn, Call):
            return turn.tool, json.dumps(turn.arguments)
        name = self.tool_name(body)
        return name, self.shell_arguments(name, turn)


def _tool_names(tools: list[Any]) -> list[str]:
    names = []
    for tool in tools:
        if isinstance(tool, dict):
            inner = tool["function"] if isinstance(tool.get("function"), dict) else tool
            names.append(str(inner.get("name", "")))
    return names


def _pick(names: list[str], preferred: tuple[str, ...], wire: str) -> str:
    for want in preferred:
        if want in names:
            return want
    raise ValueError(f"{wire}: no shell tool among the tools offered: {names}")


class Anthropic(Wire):
    """Messages API (`POST /v1/messages`), streamed."""

    name = "anthropic"

    def tool_name(self, body: dict[str, Any]) -> str:
        return _pick(_tool_names(body.get("tools", [])), ("Bash", "bash"), self.name)

    def stream(self, body: dict[str, Any], turn: Answer) -> Iterator[bytes]:
        model = str(body.get("model", "model"))
        message: dict[str, Any] = {
            "id": _id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        }
        yield sse("message_start", {"type": "message_start", "message": message})
        text = turn.text if isinstance(turn, Text) else turn.note
        yield sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}},
        )
        yield sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": text}},
        )
        yield sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        stop = "end_turn"
        if not isinstance(turn, Text):
            stop = "tool_use"
            name, args = self.call(body, turn)
            block = {"type": "tool_use", "id": _id("toolu"), "name": name, "input": {}}
            yield sse("content_block_start",
                      {"type": "content_block_start", "index": 1, "content_block": block})
            yield sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": 1,
                 "delta": {"type": "input_json_delta", "partial_json": args}},
            )
            yield sse("content_block_stop", {"type": "content_block_stop", "index": 1})
        yield sse(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
             "usage": {"output_tokens": 5}},
        )
        yield sse("message_stop", {"type": "message_stop"})

    def error(self, turn: Status | Quota) -> tuple[int, dict[str, str], dict[str, Any]]:
        headers = _retry_after(turn.retry_after)
        if isinstance(turn, Quota):
            # A subscription's usage limit: a 429 whose unified rate-limit headers say
            # "rejected", with the reset time (epoch seconds).
            reset = str(int(time.time()) + 3600)
            headers |= {
                "anthropic-ratelimit-unified-status": "rejected",
                "anthropic-ratelimit-unified-reset": reset,
            }
            return 429, headers, _anthropic_error(
                "rate_limit_error", "This request would exceed your account's rate limit."
            )
        if turn.code == 429:
            return 429, headers, _anthropic_error(
                "rate_limit_error", "Number of request tokens has exceeded your per-minute "
                "rate limit. Please try again later."
            )
        if turn.code == 529:
            return 529, headers, _anthropic_error("overloaded_error", "Overloaded")
        return turn.code, headers, _anthropic_error("api_error", f"status {turn.code}")


def _anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message},
            "request_id": _id("req")}


def _retry_after(seconds: float | None) -> dict[str, str]:
    return {} if seconds is None else {"retry-after": str(int(seconds))}


_OPENAI_QUOTA = {
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "type": "insufficient_quota",
    "param": None,
    "code": "insufficient_quota",
}
_OPENAI_RATE = {
    "message": "Rate limit reached for requests. Please try again in 1s.",
    "type": "requests",
    "param": None,
    "code": "rate_limit_exceeded",
}


def _openai_error(turn: Status | Quota) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = _retry_after(turn.retry_after)
    if isinstance(turn, Quota):
        return 429, headers, {"error": dict(_OPENAI_QUOTA)}
    if turn.code == 429:
        return 429, headers, {"error": dict(_OPENAI_RATE)}
    return turn.code, headers, {"error": {"message": f"status {turn.code}", "type": "server_error",
                                          "param": None, "code": None}}


class Responses(Wire):
    """OpenAI Responses API (`POST /v1/responses`), streamed: what Codex speaks."""

    name = "responses"

    def tool_name(self, body: dict[str, Any]) -> str:
        names = _tool_names(body.get("tools", []))
        return _pick(names, ("shell", "shell_command", "exec_command", "local_shell"), self.name)

    def shell_arguments(self, name: str, turn: Shell) -> str:
        if name == "shell":
            return json.dumps({"command": ["bash", "-lc", turn.command]})
        if name == "exec_command":
            return json.dumps({"cmd": turn.command})
        return json.dumps({"command": turn.command})

    def stream(self, body: dict[str, Any], turn: Answer) -> Iterator[bytes]:
        rid = _id("resp")
        base = {"id": rid, "object": "response", "created_at": int(time.time()),
                "model": body.get("model", "model"), "status": "in_progress", "output": []}
        yield sse("response.created", {"type": "response.created", "response": base})
        if isinstance(turn, Text):
            item = {"type": "message", "id": _id("msg"), "role": "assistant", "status":
                    "completed", "content": [{"type": "output_text", "text": turn.text,
                                              "annotations": []}]}
            added = dict(item, content=[], status="in_progress")
            yield sse("response.output_item.added",
                      {"type": "response.output_item.added", "output_index": 0, "item": added})
            yield sse("response.output_text.delta",
                      {"type": "response.output_text.delta", "item_id": item["id"],
                       "output_index": 0, "content_index": 0, "delta": turn.text})
        else:
            name, args = self.call(body, turn)
            item = {"type": "function_call", "id": _id("fc"), "call_id": _id("call"),
                    "name": name, "arguments": args, "status": "completed"}
            yield sse("response.output_item.added",
                      {"type": "response.output_item.added", "output_index": 0, "item": item})
        yield sse("response.output_item.done",
                  {"type": "response.output_item.done", "output_index": 0, "item": item})
        done = dict(base, status="completed", output=[item],
                    usage={"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                           "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                           "total_tokens": 15})
        yield sse("response.completed", {"type": "response.completed", "response": done})

    def error(self, turn: Status | Quota) -> tuple[int, dict[str, str], dict[str, Any]]:
        return _openai_error(turn)


class ChatCompletions(Wire):
    """OpenAI chat completions (`POST /v1/chat/completions`), streamed: OpenCode's provider."""

    name = "chat"

    def tool_name(self, body: dict[str, Any]) -> str:
        return _pick(_tool_names(body.get("tools", [])), ("bash", "shell", "Bash"), self.name)

    def stream(self, body: dict[str, Any], turn: Answer) -> Iterator[bytes]:
        cid = _id("chatcmpl")
        model = body.get("model", "model")

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            return sse(None, {"id": cid, "object": "chat.completion.chunk",
                              "created": int(time.time()), "model": model,
                              "choices": [{"index": 0, "delta": delta,
                                           "finish_reason": finish}], **extra})

        yield chunk({"role": "assistant", "content": ""})
        if isinstance(turn, Text):
            yield chunk({"content": turn.text})
            finish = "stop"
        else:
            yield chunk({"content": turn.note})
            name, args = self.call(body, turn)
            yield chunk({"tool_calls": [{"index": 0, "id": _id("call"), "type": "function",
                                         "function": {"name": name, "arguments": args}}]})
            finish = "tool_calls"
        yield chunk({}, finish)
        yield sse(None, {"id": cid, "object": "chat.completion.chunk",
                         "created": int(time.time()), "model": model, "choices": [],
                         "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                                   "total_tokens": 15}})
        yield sse(None, "[DONE]")

    def error(self, turn: Status | Quota) -> tuple[int, dict[str, str], dict[str, Any]]:
        return _openai_error(turn)


class Gemini(Wire):
    """Gemini API (`POST /v1beta/models/MODEL:streamGenerateContent?alt=sse`): Gemini CLI.

    Tools come as `tools: [{functionDeclarations: [...]}]`; an answer is a
    GenerateContentResponse (`candidates[0].content.parts`: text and `functionCall`s), one
    per server-sent event when streamed.
    """

    name = "gemini"

    def has_tools(self, body: dict[str, Any]) -> bool:
        return bool(self._declared(body))

    @staticmethod
    def _declared(body: dict[str, Any]) -> list[str]:
        tools = body.get("tools") or []
        return [str(decl.get("name", "")) for tool in tools if isinstance(tool, dict)
                for decl in tool.get("functionDeclarations") or [] if isinstance(decl, dict)]

    def tool_name(self, body: dict[str, Any]) -> str:
        return _pick(self._declared(body), ("run_shell_command",), self.name)

    def _response(self, body: dict[str, Any], turn: Answer) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [
            {"text": turn.text if isinstance(turn, Text) else turn.note}]
        if not isinstance(turn, Text):
            name, args = self.call(body, turn)
            parts.append({"functionCall": {"name": name, "args": json.loads(args)}})
        return {
            "candidates": [{"content": {"role": "model", "parts": parts},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                              "totalTokenCount": 15},
            "modelVersion": "scripted",
            "responseId": _id("resp"),
        }

    def stream(self, body: dict[str, Any], turn: Answer) -> Iterator[bytes]:
        yield sse(None, self._response(body, turn))

    def complete(self, body: dict[str, Any], turn: Answer) -> dict[str, Any]:
        return self._response(body, turn)

    def error(self, turn: Status | Quota) -> tuple[int, dict[str, str], dict[str, Any]]:
        headers = _retry_after(turn.retry_after)
        if isinstance(turn, Quota):
            # The free tier's daily quota: Gemini CLI stops on it instead of retrying.
            delay = [] if turn.retry_after is None else [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                 "retryDelay": f"{int(turn.retry_after)}s"}]
            return 429, headers, _google_error(
                429, "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                  "violations": [{"quotaMetric": "generativelanguage.googleapis.com/"
                                  "generate_content_free_tier_requests",
                                  "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                                  "quotaDimensions": {"model": "scripted"},
                                  "quotaValue": "250"}]}, *delay])
        if turn.code == 429:
            return 429, headers, _google_error(
                429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        if turn.code == 503:
            return 503, headers, _google_error(503, "UNAVAILABLE", "The model is overloaded.")
        return turn.code, headers, _google_error(turn.code, "INTERNAL", f"status {turn.code}")


class GeminiUnstreamed(Gemini):
    """`POST /v1beta/models/MODEL:generateContent`: the same answers as one JSON body."""

    streamed = False


def _google_error(code: int, status: str, message: str,
                  details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}


# Path pattern -> wire format.
ROUTES: list[tuple[re.Pattern[str], Wire]] = [
    (re.compile(r"/v1/messages$"), Anthropic()),
    (re.compile(r"/v1/responses$"), Responses()),
    (re.compile(r"/v1/chat/completions$"), ChatCompletions()),
    (re.compile(r"/v1beta/models/[^/:]+:streamGenerateContent$"), Gemini()),
    (re.compile(r"/v1beta/models/[^/:]+:generateContent$"), GeminiUnstreamed()),
]


def route(path: str) -> Wire | None:
    """The wire format serving `path` (query string removed), or None."""
    return next((wire for pattern, wire in ROUTES if pattern.search(path)), None)


# --- the server -----------------------------------------------------------------------------


class ModelServer:
    """A threaded HTTP server on an ephemeral port of 127.0.0.1, answering from a script.

    Use as a context manager. `script` may be swapped at any time (`server.script = ...`).
    `on_request` (optional) sees every recorded request, e.g. to log it.
    """

    def __init__(
        self, script: Script | None = None, *, on_request: Callable[[Request], None] | None = None
    ) -> None:
        self.script = script or Script([])
        self.requests: list[Request] = []
        self.on_request = on_request
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash, no `/v1`)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, request: Request) -> None:
        """Keep a request (thread-safe)."""
        with self._lock:
            self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)

    def main_requests(self, wire: str | None = None) -> list[Request]:
        """Requests that offered tools (the agent's own turns), optionally of one wire."""
        with self._lock:
            found = list(self.requests)
        return [r for r in found if r.turn is not None and (wire is None or r.wire == wire)]

    def wait_for_requests(self, count: int, *, timeout: float = 60.0) -> list[Request]:
        """Block until `count` tool-offering requests came in (or `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.main_requests()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.main_requests()


def _handler_for(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet: the tests read `server.requests`

        def do_GET(self) -> None:  # noqa: N802
            # Model listings (`/v1/models`) and health checks: an empty, valid answer.
            self._json(200, {}, {"object": "list", "data": []})

        def do_HEAD(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            path = self.path.split("?", 1)[0]
            wire = route(path)
            if wire is None:
                self._json(404, {}, {"error": {"message": f"no route {path}"}})
                return
            request = Request(wire.name, path, dict(self.headers.items()), body, time.time(),
                              None)
            if wire.has_tools(body):
                try:
                    turn: Turn = server.script.take(request)
                except Exception as exc:  # a broken script must show, not hang the agent
                    turn = Text(f"script error: {exc!r}")
                request = dataclasses.replace(request, turn=turn)
            else:
                turn = Text("Scripted session")
            server.record(request)
            if isinstance(turn, Status | Quota):
                code, headers, payload = wire.error(turn)
                self._json(code, headers, payload)
                return
            if wire.streamed:
                self._stream(wire.stream(body, turn))
            else:
                self._json(200, {}, wire.complete(body, turn))

        def _json(self, code: int, headers: dict[str, str], payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, events: Iterator[bytes]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for event in events:
                    self.wfile.write(event)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


if __name__ == "__main__":
    import sys

    with ModelServer(Script([]), on_request=lambda r: print(r.wire, r.path, r.text[:2000],
                                                             file=sys.stderr)) as srv:
        print(srv.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
