"""`timebank` (and `python -m timebank`): Flask's CLI around the app factory, with timebank's commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from timebank import create_app


def _create_app(*_args, **_kwargs) -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """timebank — 爱心银行 service."""


if __name__ == "__main__":
    main()
