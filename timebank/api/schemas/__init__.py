"""Marshmallow schemas, one module per resource. Bodies refuse unknown fields; query args ignore them."""

from __future__ import annotations

import marshmallow as ma

from timebank.http import INT64
from timebank.messages import render

# Dates a time bank can mean. Year 1 or 9999 is a typo or an attack; either would overflow the moment it meets a
# time zone or a day is added to it.
MIN_YEAR, MAX_YEAR = 1970, 2100


def _year_in_range(value) -> None:
    if value is not None and not (MIN_YEAR <= value.year <= MAX_YEAR):
        raise ma.ValidationError(render("date_out_of_range", params={"min_year": MIN_YEAR, "max_year": MAX_YEAR}))


class _Bounded(ma.Schema):
    """Every integer a client sends fits a 64-bit column and every date lies in MIN_YEAR..MAX_YEAR, whatever the
    field; the bounds are in the OpenAPI document too."""

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        if isinstance(field_obj, ma.fields.Integer):
            field_obj.validators.append(ma.validate.Range(min=-INT64, max=INT64))
        elif isinstance(field_obj, ma.fields.Date | ma.fields.DateTime):
            field_obj.validators.append(_year_in_range)


class Schema(_Bounded):
    class Meta:
        unknown = ma.RAISE
        ordered = True


class QuerySchema(_Bounded):
    class Meta:
        unknown = ma.EXCLUDE
        ordered = True
