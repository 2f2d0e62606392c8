"""The API's blueprint: flask-smorest's, with a parser that builds each request schema once.

webargs instantiates a schema *class* anew for every request it parses (and marshmallow then builds
every nested schema); our schemas keep no state between loads, so one instance per class serves every
request. Every API module takes ``Blueprint`` from here, so no route can miss it.
"""
from __future__ import annotations

from functools import cache
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Request
from webargs.flaskparser import FlaskParser


@cache
def _instance(schema: type[ma.Schema]) -> ma.Schema:
    return schema()


class SchemaOnceParser(FlaskParser):
    """FlaskParser that reuses one instance per schema class."""

    def _get_schema(self, argmap: Any, req: Request) -> ma.Schema:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _instance(argmap)
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with ``SchemaOnceParser``."""

    ARGUMENTS_PARSER = SchemaOnceParser()
