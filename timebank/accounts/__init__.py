"""A person's or a community's accounts on the ledger: who may read them, balances, adjustments, gifts,
expiry policy."""
