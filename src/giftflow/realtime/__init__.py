"""Per-room event streams: the outbox (written in the writer's batch), buses and subscribers."""
