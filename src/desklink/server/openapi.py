"""The OpenAPI document, derived from the route table and the body structs,
so it cannot drift from what the server does."""

from __future__ import annotations

from typing import Any

import msgspec

from desklink import __version__
from desklink.server.http import Access, EndpointSpec

_SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    Access.PUBLIC: [],
    Access.VISITOR: [{"visitorToken": []}],
    Access.REP: [{"session": []}],
    Access.SUPERVISOR: [{"session": []}],
    Access.ADMIN: [{"session": []}],
    Access.METRICS: [{"metricsToken": []}],
}


def build(specs: list[EndpointSpec]) -> dict[str, Any]:
    bodies = sorted({s.body for s in specs if s.body is not None}, key=lambda t: t.__name__)
    schemas, components = msgspec.json.schema_components(bodies, ref_template="#/components/schemas/{name}")
    refs = dict(zip(bodies, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        path = spec.path.replace(":int", "").replace(":path", "")
        for method in spec.methods:
            op: dict[str, Any] = {
                "summary": spec.summary,
                "security": _SECURITY[spec.access],
                "x-access": spec.access.value,
                "responses": {
                    "200": {"description": "success"},
                    "4XX": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
            params = [seg[1:-1].split(":")[0] for seg in spec.path.split("/") if seg.startswith("{")]
            if params:
                op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
            if spec.body is not None and method in ("POST", "PUT", "PATCH"):
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[spec.body]}}}
            paths.setdefault(path, {})[method.lower()] = op
    components["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "DeskLink", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "dl_session"},
                "visitorToken": {"type": "http", "scheme": "bearer"},
                "metricsToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }
