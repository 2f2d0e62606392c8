"""HTTP layer: blueprints that parse, call a service and serialise."""
from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from flask_smorest import Api
from marshmallow import fields
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

from backend.errors import http_error_response
from backend.schemas import ErrorSchema, PageCursor


class RowIdConverter(BaseConverter):
    """``<id:...>``: an integer row id within the column's range (32 bits on PostgreSQL). A larger
    number names no row: 404, not an overflow in the database driver (which was a 500)."""

    regex = r"\d{1,10}"
    MAX = 2**31 - 1

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > self.MAX:
            # Not werkzeug's ValidationError: on a route with several methods that turns into a 405.
            raise NotFound()
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


def schema_name(schema) -> str:
    """OpenAPI component names: the class name without 'Schema'; partial (PATCH) variants get 'Patch'."""
    cls = resolve_schema_cls(schema)
    # Typed as possibly a list, which only class_registry.get_class(all=True) returns: a class, an
    # instance or a registered name resolves to one class (or raises).
    assert not isinstance(cls, list)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    if getattr(schema, "partial", False):
        name += "Patch"
    return name


class KairosApi(Api):
    """flask-smorest's Api with API.md's error envelope for every HTTP error."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app: Flask, **kwargs) -> None:  # type: ignore[override]
        kwargs.setdefault("spec_kwargs", {"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})
        app.url_map.converters["id"] = RowIdConverter
        super().init_app(app, **kwargs)
        self.register_converter(RowIdConverter, lambda converter: {"type": "integer", "minimum": 0, "maximum": RowIdConverter.MAX})

    def handle_http_exception(self, error):  # type: ignore[override]
        return http_error_response(error)


api = KairosApi()
# apispec types a field by its nearest known base class, which for PageCursor is Field (no type): on the
# wire it is a string.
api.register_field(PageCursor, fields.String)
