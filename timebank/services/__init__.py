"""Business rules: plain functions over a session that flush and never commit."""

# The service modules of the hours flow that read the time through their own `utcnow` name: tests move it,
# and the demo runs them at past moments to build its history.
CLOCKED_MODULES = ("attendance", "checkin_tokens", "claims", "needs", "tasks", "verification", "credit")
