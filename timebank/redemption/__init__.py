"""Points spent with partner merchants: rewards, redemptions (hold, capture, release), settlement and reconciliation."""
