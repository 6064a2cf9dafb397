"""Thin RQ jobs; each module may register outbox topics (`registry.handles`) and cron entries (`cron.every`)."""
