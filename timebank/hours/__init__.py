"""Service hours: needs, tasks, claims, attendance (check-in / check-out), verification and the credit it earns."""
