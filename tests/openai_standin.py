"""A small OpenAI-compatible chat-completions server for tests, on a free port of 127.0.0.1.

A remote language model is the one thing the tests stand in for: the real clients (``ChatOpenAI``,
the engine's httpx calls) talk to this over real HTTP. ``respond(body, request)`` gives the
assistant message for each request; the server wraps it in a ``chat.completion`` answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Respond = Callable[[dict[str, Any], BaseHTTPRequestHandler], dict[str, Any]]


class ChatCompletionsServer:
    """Use as a context manager; ``url`` is the base URL to configure (``.../v1``)."""

    def __init__(self, respond: Respond) -> None:
        answered = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                nonlocal answered
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                message = respond(body, self)
                answered += 1
                answer = {
                    "id": f"chatcmpl-{answered}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
