-- A delivery replayed under a new webhook id is found by its order and trigger time.
create index channel_event_order_idx on channel_event (channel_id, external_order_id);
