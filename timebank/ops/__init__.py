"""What every domain leans on: the audit log, the transactional outbox, outbound signed webhooks."""
