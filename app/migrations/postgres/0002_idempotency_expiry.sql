-- Idempotency keys expire after their retention (24 h): the purge job deletes by age.
create index idempotency_key_created_at on idempotency_key (created_at);
