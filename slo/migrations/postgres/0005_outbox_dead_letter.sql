-- Dead letters (slo/src/alert/outbox.rs): a notification given up on -- after the bounded number
-- of attempts, or because its receiver is no longer configured -- gets dead_at (Unix
-- milliseconds) and the reason in last_error, and is never sent again. It is kept for inspection
-- (GET /api/v1/notifications?state=dead, the dashboard) as long as delivered rows are.
alter table slo_outbox add column dead_at bigint;

-- Delivery reads each receiver's rows still to send, oldest first.
create index slo_outbox_receiver_pending on slo_outbox (receiver, slo_outbox_id)
    where delivered_at is null and dead_at is null;
