"""The control API under /_sandbox/: what tests, benchmarks and drills steer the sandbox with.

It is not part of Exact's world, so it exists only when the app is created with control=True.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from exact_tui.sandbox.errors import ApiError
from exact_tui.sandbox.faults import FaultPlan
from exact_tui.sandbox.ledger import plain
from exact_tui.sandbox.odata.types import Record

if TYPE_CHECKING:
    from exact_tui.sandbox.sandbox import Sandbox

Handler = Callable[[Request], Awaitable[Response]]


def _sandbox(request: Request) -> Sandbox:
    return cast("Sandbox", request.app.state.sandbox)


async def _json(request: Request) -> dict[str, object]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return data


def _guarded(handler: Handler) -> Handler:
    """Turns bad input into a 400 with the reason, in the same error shape as the REST API."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()
        except (ValueError, KeyError, TypeError) as error:
            return ApiError(400, str(error)).response()

    return run


def _record(record: Record) -> dict[str, object]:
    return {name: plain(value) for name, value in record.items()}


def _division(request: Request) -> int:
    return int(request.path_params["division"])


async def ledger(request: Request) -> Response:
    division = request.query_params.get("division")
    return JSONResponse(_sandbox(request).ledger(int(division) if division else None))


async def calls(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        with sandbox.lock:
            sandbox.calls.clear()
    return JSONResponse(sandbox.calls_snapshot())


async def faults(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        try:
            plan = FaultPlan.model_validate(await _json(request))
        except ValidationError as error:
            raise ApiError(400, error.json(include_url=False)) from None
        sandbox.set_faults(plan)
    elif request.method == "DELETE":
        sandbox.clear_faults()
    with sandbox.lock:
        return JSONResponse({"faults": sandbox.faults.snapshot()})


async def clock(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        advance = (await _json(request)).get("advance", 0)
        if not isinstance(advance, int | float) or isinstance(advance, bool):
            raise ApiError(400, "advance must be a number of seconds.")
        sandbox.advance(float(advance))
    now = sandbox.now()
    epoch_ms = int(now.timestamp() * 1000)
    return JSONResponse(
        {"now": now.isoformat(), "epoch_ms": epoch_ms, "frozen": sandbox.clock.frozen}
    )


async def reset(request: Request) -> Response:
    keep_tokens = bool((await _json(request)).get("keep_tokens", False))
    _sandbox(request).reset(keep_tokens=keep_tokens)
    return JSONResponse({"reset": True, "keep_tokens": keep_tokens})


async def limits(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        body = await _json(request)
        clear = body.pop("clear_counters", False)
        for name, value in body.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ApiError(400, f"{name} must be a number.")
        sandbox.set_limits(**cast("dict[str, float]", body))
        if clear:
            sandbox.clear_limit_counters()
    elif request.method == "DELETE":
        sandbox.clear_limit_counters()
    with sandbox.lock:
        return JSONResponse(sandbox.limits.snapshot())


def _user(request: Request, body: dict[str, object] | None = None) -> str | None:
    """The user a control call is about: `?user=` or a `user` field; None for the default
    user. An unknown one is a 400 naming it."""
    name = request.query_params.get("user")
    if body is not None and "user" in body:
        if not isinstance(body["user"], str):
            raise ApiError(400, "user must be a user name.")
        name = body["user"]
    if name is None:
        return None
    _sandbox(request).user(name)  # KeyError (400) for an unknown user
    return name


async def consent(request: Request) -> Response:
    sandbox = _sandbox(request)
    user = _user(request)
    if request.method == "POST":
        body = await _json(request)
        user = _user(request, body)
        divisions = body.get("divisions")
        if not isinstance(divisions, list) or not all(isinstance(d, int) for d in divisions):
            raise ApiError(400, "divisions must be a list of division numbers.")
        sandbox.set_consent(cast("list[int]", divisions), user=user)
    elif request.method == "DELETE":
        sandbox.withdraw_consent(_division(request), user=user)
    return JSONResponse(
        {"user": sandbox.user(user).name, "divisions": sorted(sandbox.consent(user=user))}
    )


async def users(request: Request) -> Response:
    """Every user: name, divisions on their user card, and what they consent to."""
    sandbox = _sandbox(request)
    with sandbox.lock:
        return JSONResponse(
            {
                "users": [
                    {
                        "user_name": user.name,
                        "full_name": user.me["FullName"],
                        "divisions": list(user.divisions),
                        "consent": sorted(sandbox.consent(user=user.name)),
                    }
                    for user in sandbox.world.users.values()
                ]
            }
        )


async def apps(request: Request) -> Response:
    body = await _json(request)
    fields = [body.get(name) for name in ("client_id", "client_secret", "redirect_uri")]
    if not all(isinstance(value, str) and value for value in fields):
        raise ApiError(400, "client_id, client_secret and redirect_uri are needed.")
    client_id, secret, redirect_uri = cast("list[str]", fields)
    _sandbox(request).register_app(client_id, secret, redirect_uri)
    return JSONResponse({"client_id": client_id, "redirect_uri": redirect_uri}, status_code=201)


async def revoke(request: Request) -> Response:
    user = _user(request, await _json(request))
    _sandbox(request).revoke_tokens(user=user)
    return JSONResponse({"revoked": True, "user": user})


async def facts(request: Request) -> Response:
    return JSONResponse(_sandbox(request).facts.as_dict())


async def accounts(request: Request) -> Response:
    sandbox = _sandbox(request)
    division = _division(request)
    key = request.path_params.get("key")
    if request.method == "POST" and key is None:
        return JSONResponse(
            _record(sandbox.create_account(division, **await _json(request))), status_code=201
        )
    if request.method == "PATCH" and key is not None:
        return JSONResponse(_record(sandbox.update_account(division, key, **await _json(request))))
    if request.method == "DELETE" and key is not None:
        return JSONResponse(_record(sandbox.delete_account(division, key)))
    raise ApiError(405, "Method not allowed here.")


async def gl_accounts(request: Request) -> Response:
    sandbox = _sandbox(request)
    division = _division(request)
    key = request.path_params.get("key")
    if request.method == "POST" and key is None:
        return JSONResponse(
            _record(sandbox.create_gl_account(division, **await _json(request))), status_code=201
        )
    if request.method == "PATCH" and key is not None:
        record = sandbox.update_gl_account(division, key, **await _json(request))
        return JSONResponse(_record(record))
    if request.method == "DELETE" and key is not None:
        return JSONResponse(_record(sandbox.delete_gl_account(division, key)))
    raise ApiError(405, "Method not allowed here.")


async def entries(request: Request) -> Response:
    """Damage planted in the books: DELETE an entry, or POST …/copy to book it once more."""
    sandbox = _sandbox(request)
    division = _division(request)
    key = str(request.path_params["key"])
    try:
        if request.method == "DELETE":
            return JSONResponse(_record(sandbox.delete_entry(division, key)))
        return JSONResponse(_record(sandbox.copy_entry(division, key)), status_code=201)
    except KeyError as exc:
        raise ApiError(404, str(exc.args[0])) from None


async def move(request: Request) -> Response:
    moved = _sandbox(request).move_division(_division(request))
    return JSONResponse({"division": _division(request), "DivisionMoveDate": moved.isoformat()})


def routes() -> list[Route]:
    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(path, _guarded(handler), methods=methods)

    return [
        route("/ledger", ledger, ["GET"]),
        route("/calls", calls, ["GET", "DELETE"]),
        route("/faults", faults, ["GET", "POST", "DELETE"]),
        route("/clock", clock, ["GET", "POST"]),
        route("/reset", reset, ["POST"]),
        route("/limits", limits, ["GET", "POST", "DELETE"]),
        route("/consent", consent, ["GET", "POST"]),
        route("/consent/{division:int}", consent, ["DELETE"]),
        route("/tokens/revoke", revoke, ["POST"]),
        route("/users", users, ["GET"]),
        route("/apps", apps, ["POST"]),
        route("/facts", facts, ["GET"]),
        route("/divisions/{division:int}/accounts", accounts, ["POST"]),
        route("/divisions/{division:int}/accounts/{key}", accounts, ["PATCH", "DELETE"]),
        route("/divisions/{division:int}/glaccounts", gl_accounts, ["POST"]),
        route("/divisions/{division:int}/glaccounts/{key}", gl_accounts, ["PATCH", "DELETE"]),
        route("/divisions/{division:int}/move", move, ["POST"]),
        route("/divisions/{division:int}/entries/{key}", entries, ["DELETE"]),
        route("/divisions/{division:int}/entries/{key}/copy", entries, ["POST"]),
    ]
