-- Kura fulfillment schema. One source for both backends: `gen.sh` renders the
-- primary-key placeholder for SQLite and PostgreSQL so the two can never drift.
-- Timestamps are UTC, RFC 3339 text with microseconds (sortable as text);
-- dates are the warehouse's local calendar date (YYYY-MM-DD). Flags are 0/1 integers:
-- sqlx's Any driver cannot read SQLite booleans.

create table shipper (
    shipper_id integer primary key,
    code text not null unique,
    name text not null,
    allow_backorder bigint not null default 0 check (allow_backorder in (0, 1)),
    created_at text not null,
    updated_at text not null
);

create table warehouse (
    warehouse_id integer primary key,
    code text not null unique,
    name text not null,
    time_zone text not null default 'Asia/Tokyo',
    cutoff_time text not null default '12:30',
    created_at text not null,
    updated_at text not null
);

create table location (
    location_id integer primary key,
    warehouse_id bigint not null references warehouse (warehouse_id),
    code text not null,
    kind text not null check (kind in ('receiving', 'stock', 'hold', 'packing', 'shipping')),
    pick_sequence bigint not null default 0,
    created_at text not null,
    unique (warehouse_id, code)
);

create table api_token (
    api_token_id integer primary key,
    token_hash text not null unique,
    name text not null,
    role text not null check (role in ('shipper', 'warehouse', 'admin')),
    shipper_id bigint references shipper (shipper_id),
    created_at text not null,
    revoked_at text,
    check ((role = 'shipper') = (shipper_id is not null))
);

create table api_token_warehouse (
    api_token_id bigint not null references api_token (api_token_id),
    warehouse_id bigint not null references warehouse (warehouse_id),
    primary key (api_token_id, warehouse_id)
);

create table item (
    item_id integer primary key,
    shipper_id bigint not null references shipper (shipper_id),
    code text not null,
    name text not null,
    barcode text,
    price bigint not null,
    size_class text not null,
    weight_grams bigint not null,
    temperature_zone text not null,
    lot_managed bigint not null check (lot_managed in (0, 1)),
    version bigint not null default 1,
    created_at text not null,
    updated_at text not null,
    unique (shipper_id, code),
    unique (shipper_id, barcode)
);

create table stock (
    stock_id integer primary key,
    warehouse_id bigint not null references warehouse (warehouse_id),
    location_id bigint not null references location (location_id),
    item_id bigint not null references item (item_id),
    lot text not null default '',
    expires_on text,
    bucket text not null check (bucket in ('sellable', 'hold')),
    on_hand bigint not null default 0,
    reserved bigint not null default 0,
    updated_at text not null,
    unique (location_id, item_id, lot, bucket),
    -- The last line of defence against overselling, enforced by both engines.
    check (on_hand >= 0),
    check (reserved >= 0),
    check (reserved <= on_hand)
);
create index stock_item_idx on stock (warehouse_id, item_id);

create table inbound (
    inbound_id integer primary key,
    shipper_id bigint not null references shipper (shipper_id),
    warehouse_id bigint not null references warehouse (warehouse_id),
    identifier text not null,
    status text not null,
    halfway bigint not null default 0 check (halfway in (0, 1)),
    arrival_date text,
    version bigint not null default 1,
    created_at text not null,
    updated_at text not null,
    unique (shipper_id, identifier)
);

create table inbound_line (
    inbound_line_id integer primary key,
    inbound_id bigint not null references inbound (inbound_id),
    item_id bigint not null references item (item_id),
    lot text not null default '',
    expires_on text,
    requested bigint not null check (requested > 0),
    received bigint not null default 0,
    defective bigint not null default 0,
    unique (inbound_id, item_id, lot)
);

create table shipment (
    shipment_id integer primary key,
    shipper_id bigint not null references shipper (shipper_id),
    warehouse_id bigint not null references warehouse (warehouse_id),
    identifier text not null,
    -- SHA-256 of the canonical request: a resubmission with the same content is a replay.
    request_hash text not null,
    status text not null,
    status_before_request text,
    pending_change text,
    allocate_priority bigint not null default 50,
    ship_date text not null,
    recipient_name text not null,
    recipient_postal_code text not null,
    recipient_prefecture text not null,
    recipient_address1 text not null,
    recipient_address2 text,
    recipient_phone text not null,
    delivery_carrier text not null,
    gift_wrap bigint not null default 0 check (gift_wrap in (0, 1)),
    version bigint not null default 1,
    created_at text not null,
    updated_at text not null,
    unique (shipper_id, identifier)
);
create index shipment_status_idx on shipment (warehouse_id, status, ship_date);

create table shipment_line (
    shipment_line_id integer primary key,
    shipment_id bigint not null references shipment (shipment_id),
    item_id bigint not null references item (item_id),
    quantity bigint not null check (quantity > 0),
    unique (shipment_id, item_id)
);

-- Stock reserved for a shipment line at one stock row; picking walks these.
create table allocation (
    allocation_id integer primary key,
    shipment_id bigint not null references shipment (shipment_id),
    shipment_line_id bigint not null references shipment_line (shipment_line_id),
    stock_id bigint not null references stock (stock_id),
    quantity bigint not null check (quantity > 0),
    picked bigint not null default 0 check (picked >= 0),
    inspected bigint not null default 0 check (inspected >= 0),
    check (picked <= quantity),
    check (inspected <= picked)
);
create index allocation_shipment_idx on allocation (shipment_id);

create table wave (
    wave_id integer primary key,
    warehouse_id bigint not null references warehouse (warehouse_id),
    wave_date text not null,
    origin text not null check (origin in ('cutoff', 'manual')),
    created_at text not null
);
-- One cut-off wave per warehouse and day, however many replicas run the job.
create unique index wave_cutoff_once on wave (warehouse_id, wave_date) where origin = 'cutoff';

create table wave_shipment (
    wave_id bigint not null references wave (wave_id),
    shipment_id bigint not null unique references shipment (shipment_id),
    primary key (wave_id, shipment_id)
);

-- The picking list, materialised when the wave is released: one task per allocation, in
-- walking order. A device claims one open task at a time and walks it location -> item ->
-- quantity; claiming reads the next few open tasks by index instead of re-sorting the wave.
create table pick_task (
    pick_task_id integer primary key,
    warehouse_id bigint not null references warehouse (warehouse_id),
    wave_id bigint not null references wave (wave_id),
    allocation_id bigint not null unique references allocation (allocation_id),
    walk_seq bigint not null,
    device_id text,
    expected_step text check (expected_step in ('location', 'item', 'quantity')),
    done bigint not null default 0 check (done in (0, 1)),
    unique (wave_id, walk_seq)
);
create index pick_task_open_idx on pick_task (wave_id, done, walk_seq);
-- A device works on one task at a time.
create unique index pick_task_device_once on pick_task (warehouse_id, device_id) where done = 0 and device_id is not null;

create table scan (
    scan_id integer primary key,
    warehouse_id bigint not null references warehouse (warehouse_id),
    device_id text not null,
    client_event_id text not null,
    request_hash text not null,
    response text not null,
    created_at text not null,
    unique (warehouse_id, device_id, client_event_id)
);

create table package (
    package_id integer primary key,
    shipment_id bigint not null references shipment (shipment_id),
    carrier text not null,
    tracking_number text not null unique,
    weight_grams bigint not null,
    label_issued_at text,
    label_count bigint not null default 0,
    handover_id bigint,
    created_at text not null
);
create index package_shipment_idx on package (shipment_id);

create table handover (
    handover_id integer primary key,
    warehouse_id bigint not null references warehouse (warehouse_id),
    carrier text not null,
    created_at text not null
);

create table stock_ledger (
    stock_ledger_id integer primary key,
    stock_id bigint not null references stock (stock_id),
    kind text not null check (kind in ('receive', 'putaway', 'pick', 'ship', 'adjust', 'return', 'cancel')),
    quantity bigint not null,
    shipment_id bigint references shipment (shipment_id),
    inbound_id bigint references inbound (inbound_id),
    created_at text not null
);
create index stock_ledger_stock_idx on stock_ledger (stock_id);

create table billing_event (
    billing_event_id integer primary key,
    shipper_id bigint not null references shipper (shipper_id),
    kind text not null,
    quantity bigint not null,
    unit_price bigint not null,
    amount bigint not null,
    -- What the charge is for ("shipment:42", "package:7", "storage:2026-11-25:item:3"):
    -- unique, so retries and re-runs bill once.
    reference text not null,
    occurred_on text not null,
    created_at text not null,
    unique (shipper_id, kind, reference)
);
create index billing_event_month_idx on billing_event (shipper_id, occurred_on);

create table maintenance_event (
    maintenance_event_id integer primary key,
    enabled bigint not null check (enabled in (0, 1)),
    actor text not null,
    reason text not null,
    created_at text not null
);

create table idempotency_key (
    principal text not null,
    idempotency_key text not null,
    request_hash text not null,
    response_status bigint,
    response_body text,
    created_at text not null,
    primary key (principal, idempotency_key)
);

-- An EC channel (Shopify shop) whose orders become shipments of one shipper, shipped from
-- one warehouse. Shopify signs each webhook with HMAC-SHA256 under `webhook_secret`, so the
-- secret is kept as given (a hash could not verify a signature).
create table channel (
    channel_id integer primary key,
    shipper_id bigint not null references shipper (shipper_id),
    warehouse_id bigint not null references warehouse (warehouse_id),
    kind text not null check (kind in ('shopify')),
    shop_domain text not null,
    webhook_secret text not null,
    delivery_carrier text not null,
    created_at text not null,
    updated_at text not null,
    unique (kind, shop_domain)
);

-- Every webhook delivery a channel accepted, once per webhook id (a redelivery finds its row
-- and answers the first outcome). Written in the same transaction as its effect, so the
-- status is never seen as `received`: `created` (this event made the shipment),
-- `duplicate` (the order already was one) or `rejected` (`reason`, `detail`).
create table channel_event (
    channel_event_id integer primary key,
    channel_id bigint not null references channel (channel_id),
    webhook_id text not null,
    topic text not null,
    external_order_id text not null,
    order_name text,
    status text not null check (status in ('received', 'created', 'duplicate', 'rejected')),
    reason text,
    detail text,
    shipment_id bigint references shipment (shipment_id),
    order_created_at text not null,
    triggered_at text,
    created_at text not null,
    updated_at text not null,
    unique (channel_id, webhook_id),
    check ((status = 'rejected') = (reason is not null))
);
create index channel_event_status_idx on channel_event (channel_id, status);

-- A channel's order that became a shipment: one per (channel, external order id), whichever
-- webhook or reconciliation got there first.
create table channel_order (
    channel_id bigint not null references channel (channel_id),
    external_order_id text not null,
    shipment_id bigint not null unique references shipment (shipment_id),
    created_at text not null,
    primary key (channel_id, external_order_id)
);
