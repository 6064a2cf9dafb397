"""Marshmallow schemas, one module per resource. Bodies refuse unknown fields; query args ignore them."""

from __future__ import annotations

import marshmallow as ma


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


class QuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE
        ordered = True


class ProblemSchema(ma.Schema):
    type = ma.fields.String()
    status = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()
    detail = ma.fields.String()
    errors = ma.fields.Dict()
