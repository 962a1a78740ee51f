"""The ASGI app: Exact's OAuth and REST routes, the control API, and the fault/call-log layer."""

from __future__ import annotations

import asyncio
import email.utils
import json
from typing import TYPE_CHECKING

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exact_tui.sandbox import assumptions, oauth
from exact_tui.sandbox import control as control_api
from exact_tui.sandbox.calls import NO_ANSWER
from exact_tui.sandbox.errors import error_body
from exact_tui.sandbox.faults import Fault, FaultKind
from exact_tui.sandbox.rest import rest_endpoint
from exact_tui.sandbox.sandbox import Sandbox
from exact_tui.sandbox.urls import REST_PREFIX, classify

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

# Declared length of the half-sent answer that a network connection reset cuts off.
_RESET_CONTENT_LENGTH = 4096


def _html_error(status: int) -> bytes:
    # Injected 5xx look like a load balancer's page, not like Exact's JSON validation errors.
    return (
        f"<html><head><title>{status} Service Error</title></head>"
        f"<body><h1>{status} Service Error</h1><p>The service is temporarily unavailable.</p>"
        "</body></html>"
    ).encode()


async def _send_simple(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A `receive` that gives the body already read, then nothing more."""
    given = False

    async def receive() -> Message:
        nonlocal given
        if given:
            return {"type": "http.disconnect"}
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


class _Recorder:
    """Wraps `send` to learn the status, and optionally holds the messages back."""

    def __init__(self, send: Send, *, forward: bool) -> None:
        self.send = send
        self.forward = forward
        self.status = NO_ANSWER
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        if self.forward:
            await self.send(message)
        else:
            self.messages.append(message)

    async def replay(self) -> None:
        for message in self.messages:
            await self.send(message)


def _dated(send: Send, sandbox: Sandbox) -> Send:
    """Every answer carries `Date`, as any HTTP server's does, from the sandbox's clock: what
    a client learns Exact's time from (rate-limit resets are Exact's times)."""

    async def dated(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"date" for name, _ in headers):
                stamp = email.utils.format_datetime(sandbox.now(), usegmt=True)
                headers.append((b"date", stamp.encode()))
                message = {**message, "headers": headers}
        await send(message)

    return dated


class FaultLayer:
    """Applies the fault plan to /api/ requests and records every call in the call log.

    Over a real socket (`network=True`) a connection reset sends half an answer and stops, so the
    client sees the connection drop, and a hang really waits. In-process (httpx.ASGITransport)
    there is no socket and no client timeout: the layer raises the transport errors httpx raises
    for those events instead (RemoteProtocolError, ReadTimeout).
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox, *, network: bool) -> None:
        self.app = app
        self.sandbox = sandbox
        self.network = network

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            send = _dated(send, self.sandbox)
            # Requests taken by commit_late and due by now are in the books before anything
            # is answered.
            self.sandbox.commit_due()
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        endpoint, division = classify(scope["path"])
        method = scope["method"]
        with self.sandbox.lock:
            decision = self.sandbox.faults.decide(endpoint, method, division)
            if decision.latency_ms:
                self.sandbox.calls.record_fault(FaultKind.LATENCY.value)
            if decision.fault is not None:
                self.sandbox.calls.record_fault(decision.fault.kind.value)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        status = NO_ANSWER
        try:
            if decision.fault is None:
                recorder = _Recorder(send, forward=True)
                await self.app(scope, receive, recorder)
                status = recorder.status
            else:
                status = await self.misbehave(decision.fault, scope, receive, send)
        finally:
            with self.sandbox.lock:
                self.sandbox.calls.record(endpoint, division, method, status)

    async def misbehave(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> int:
        handlers: dict[FaultKind, Callable[[Fault, Scope, Receive, Send], Awaitable[int]]] = {
            FaultKind.ERROR_BEFORE_COMMIT: self.error_before_commit,
            FaultKind.ERROR_AFTER_COMMIT: self.error_after_commit,
            FaultKind.COMMIT_THEN_HANG: self.commit_then_hang,
            FaultKind.COMMIT_LATE: self.commit_late,
            FaultKind.CONNECTION_RESET: self.connection_reset,
            FaultKind.RATE_LIMIT_STORM: self.rate_limit_storm,
            FaultKind.REVOKE_TOKENS: self.revoke_tokens,
        }
        return await handlers[fault.kind](fault, scope, receive, send)

    async def commit(self, scope: Scope, receive: Receive, send: Send) -> _Recorder:
        """Handles the request for real but holds its answer back."""
        recorder = _Recorder(send, forward=False)
        await self.app(scope, receive, recorder)
        return recorder

    async def error_before_commit(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> int:
        await _send_simple(send, fault.status, _html_error(fault.status), "text/html")
        return fault.status

    async def error_after_commit(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> int:
        await self.commit(scope, receive, send)
        await _send_simple(send, fault.status, _html_error(fault.status), "text/html")
        return fault.status

    async def commit_then_hang(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> int:
        recorder = await self.commit(scope, receive, send)
        if not self.network:
            raise httpx.ReadTimeout("The sandbox held the answer back (commit_then_hang).")
        await asyncio.sleep(fault.seconds)
        await recorder.replay()
        return NO_ANSWER

    async def commit_late(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> int:
        """Take the request, answer nothing, and commit it `seconds` later whatever the client
        does (a proxy that held it past the client's timeout). Only POSTs with a valid token;
        anything else is handled as usual."""
        body = await _read_body(receive)
        token = _bearer(scope)
        with self.sandbox.lock:
            client = self.sandbox.oauth.client_of(token) if token else None
        if scope["method"] != "POST" or client is None:
            recorder = _Recorder(send, forward=True)
            await self.app(scope, _replay(body), recorder)
            return recorder.status
        late = self.sandbox.commit_later(fault.seconds, scope["path"][len(REST_PREFIX) :], body)
        if not self.network:
            raise httpx.ReadTimeout("The sandbox took the request and commits it later.")
        await asyncio.sleep(fault.seconds)
        self.sandbox.commit(late)
        # The client gave up long ago; what a proxy sends at last goes nowhere.
        await _send_simple(send, 504, _html_error(504), "text/html")
        return NO_ANSWER

    async def connection_reset(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> int:
        if fault.after_commit:
            await self.commit(scope, receive, send)
        if not self.network:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        # Half an answer and no more: uvicorn closes the socket, the client sees a protocol error.
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(_RESET_CONTENT_LENGTH).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"d": {', "more_body": True})
        return NO_ANSWER

    async def rate_limit_storm(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> int:
        with self.sandbox.lock:
            headers = self.sandbox.limits.storm()
        body = json.dumps(error_body(assumptions.RATE_LIMIT_MESSAGE)).encode()
        await _send_simple(send, 429, body, "application/json; charset=utf-8", headers)
        return 429

    async def revoke_tokens(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> int:
        # The user whose token made the request disconnected the app (with several users,
        # the others keep theirs); a request without a known token revokes every user's.
        with self.sandbox.lock:
            record = self.sandbox.oauth.access.get(_bearer(scope))
            self.sandbox.oauth.revoke_all(record.user if record is not None else None)
        recorder = _Recorder(send, forward=True)
        await self.app(scope, receive, recorder)
        return recorder.status


def create_app(
    sandbox: Sandbox | None = None, *, control: bool = True, network: bool = False
) -> Starlette:
    """The sandbox as an ASGI app; `app.state.sandbox` is the Sandbox behind it.

    `control` adds the /_sandbox/ control API. `network` says the app is served over a real
    socket (uvicorn), which changes how connection resets and hangs are staged.
    """
    sandbox = sandbox or Sandbox()
    routes: list[BaseRoute] = [
        Route("/api/oauth2/auth", oauth.authorize, methods=["GET", "POST"]),
        Route("/api/oauth2/token", oauth.token, methods=["POST"]),
        Route(
            "/api/v1/{rest:path}",
            rest_endpoint,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        ),
    ]
    if control:
        routes.append(Mount("/_sandbox", routes=list(control_api.routes())))
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    app.add_middleware(FaultLayer, sandbox=sandbox, network=network)
    return app
