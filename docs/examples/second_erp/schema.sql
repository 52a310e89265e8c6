-- A web shop's order system: a second, differently shaped ERP, mapped to the pipeline by the two
-- query files beside this one (docs/erp-mapping.md, "A second ERP, step by step").
-- Runs as is on SQLite and PostgreSQL.
CREATE TABLE customers (
    id            INTEGER PRIMARY KEY,
    company       VARCHAR(120),              -- NULL for a private customer
    first_name    VARCHAR(80) NOT NULL,
    surname       VARCHAR(80) NOT NULL,
    mobile        VARCHAR(30),
    email_address VARCHAR(254)
);

CREATE TABLE addresses (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers (id),
    house_and_street VARCHAR(200) NOT NULL,
    suburb           VARCHAR(100),
    city             VARCHAR(100),
    zip              VARCHAR(10),
    country_iso3     VARCHAR(3) NOT NULL,    -- ISO 3166-1 alpha-3: ZAF, NAM, BWA
    lat              DECIMAL(9, 6),
    lng              DECIMAL(9, 6)
);

CREATE TABLE orders (
    id                INTEGER PRIMARY KEY,
    order_ref         VARCHAR(40) NOT NULL,  -- the shop's order number, e.g. WEB-100231
    customer_id       INTEGER NOT NULL REFERENCES customers (id),
    ship_to_id        INTEGER NOT NULL REFERENCES addresses (id),
    deliver_on        DATE NOT NULL,
    slot_from         VARCHAR(5),            -- delivery slot booked at checkout, 'HH:MM'
    slot_to           VARCHAR(5),
    fulfilment_state  VARCHAR(20) NOT NULL,  -- new, packed, shipped, cancelled
    courier           VARCHAR(100),          -- the driver's name as Fleet knows it
    gift_message      TEXT,
    sales_channel     VARCHAR(20)            -- web, app, marketplace
);

CREATE TABLE order_items (
    id            INTEGER PRIMARY KEY,
    order_id      INTEGER NOT NULL REFERENCES orders (id),
    line_pos      INTEGER NOT NULL,
    product_code  VARCHAR(40),
    product_name  VARCHAR(200) NOT NULL,
    units         INTEGER NOT NULL,
    unit_weight_g INTEGER                    -- grams per unit
);
