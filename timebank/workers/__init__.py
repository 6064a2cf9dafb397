"""Background work on RQ: named queues, the outbox relay and drain, jobs, cron."""
