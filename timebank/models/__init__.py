"""Every model module under this package (and the ledger's) is imported here, so metadata is complete."""

import importlib
import pkgutil


def _import_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    try:
        importlib.import_module("timebank.ledger.models")
    except ModuleNotFoundError as exc:  # the ledger package may be built without models in early revisions
        if exc.name != "timebank.ledger.models":
            raise


_import_all()
