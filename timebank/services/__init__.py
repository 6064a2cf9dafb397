"""Business rules: plain functions over a session that flush and never commit."""
