"""HTTP layer: blueprints that parse, call a service and serialise."""
from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from flask_smorest import Api

from backend.errors import http_error_response
from backend.schemas import ErrorSchema


def schema_name(schema) -> str:
    """OpenAPI component names: the class name without 'Schema'; partial (PATCH) variants get 'Patch'."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    if getattr(schema, "partial", False):
        name += "Patch"
    return name


class KairosApi(Api):
    """flask-smorest's Api with API.md's error envelope for every HTTP error."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app: Flask, **kwargs) -> None:  # type: ignore[override]
        kwargs.setdefault("spec_kwargs", {"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})
        super().init_app(app, **kwargs)

    def handle_http_exception(self, error):  # type: ignore[override]
        return http_error_response(error)


api = KairosApi()
