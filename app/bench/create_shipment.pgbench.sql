-- The statements one POST /v1/shipments (one line, allocated) sends to PostgreSQL, in order:
-- authenticate the token, check the warehouse, look for an existing identifier, resolve the
-- item codes (one statement for all lines), insert shipment and lines (one statement for all
-- lines), reserve stock under a savepoint. The answer is built from what was written, so
-- nothing is read back.
-- pgbench runs this with the service out of the way: the ceiling the database allows.
-- Variables: :shipper :warehouse :item_min :item_max :token_hash (set with -D).
\set n random(1, 1000000000000)
\set item random(:item_min, :item_max)
begin;
select api_token_id, role, shipper_id from api_token where token_hash = :token_hash and revoked_at is null;
select warehouse_id, code, name, time_zone, cutoff_time from warehouse where warehouse_id = :warehouse;
select shipment_id, shipper_id, identifier, warehouse_id, status, status_before_request, pending_change, allocate_priority, ship_date, recipient_name, recipient_postal_code, recipient_prefecture, recipient_address1, recipient_address2, recipient_phone, delivery_carrier, gift_wrap, version, created_at, updated_at, request_hash from shipment where shipper_id = :shipper and identifier = 'PGB-' || :client_id || '-' || :n;
select item_id, code, lot_managed from item where shipper_id = :shipper and code in ((select code from item where item_id = :item));
insert into shipment (shipper_id, warehouse_id, identifier, request_hash, status, allocate_priority, ship_date, recipient_name, recipient_postal_code, recipient_prefecture, recipient_address1, recipient_address2, recipient_phone, delivery_carrier, gift_wrap, created_at, updated_at) values (:shipper, :warehouse, 'PGB-' || :client_id || '-' || :n, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'waiting', 50, '2026-11-26', 'Taro Yamada', '150-0001', 'Tokyo', '1-2-3 Jingumae', null, '03-1234-5678', 'yamato', 0, '2026-11-25T00:00:00.000000Z', '2026-11-25T00:00:00.000000Z') returning shipment_id \gset
insert into shipment_line (shipment_id, item_id, quantity) values (:shipment_id, :item, 1) returning shipment_line_id, item_id \gset
savepoint sqlx_savepoint_1;
select s.stock_id from stock s join location l on l.location_id = s.location_id where s.warehouse_id = :warehouse and s.item_id = :item and s.bucket = 'sellable' and l.kind = 'stock' and s.on_hand > s.reserved order by case when s.expires_on is null then 1 else 0 end, s.expires_on, l.pick_sequence, s.stock_id \gset
select on_hand - reserved from stock where stock_id = :stock_id;
update stock set reserved = reserved + 1, updated_at = '2026-11-25T00:00:00.000000Z' where stock_id = :stock_id and on_hand - reserved >= 1;
insert into allocation (shipment_id, shipment_line_id, stock_id, quantity) values (:shipment_id, :shipment_line_id, :stock_id, 1);
release savepoint sqlx_savepoint_1;
commit;
