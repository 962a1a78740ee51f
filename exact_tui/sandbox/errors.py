"""Exact's error answers: the OData error body and the exception that carries one."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

JSON_MEDIA_TYPE = "application/json; charset=utf-8"


def error_body(message: str) -> dict[str, object]:
    """Exact's error shape: `code` and `lang` are empty in every sample found."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


class ApiError(Exception):
    """An error answer in Exact's shape, raised anywhere below a REST handler."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return Response(
            json.dumps(error_body(self.message), ensure_ascii=False, separators=(",", ":")),
            status_code=self.status,
            headers=self.headers,
            media_type=JSON_MEDIA_TYPE,
        )


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found_segment(segment: str) -> ApiError:
    """WCF Data Services' wording for an unknown resource or key."""
    return ApiError(404, f"Resource not found for the segment '{segment}'.")


MALFORMED_BODY = (
    "Error processing request stream. The request should be a valid top-level resource object."
)
