"""The double-entry core: accounts and transfers on the `minutes` and `points` ledgers. No Flask here."""
