-- Deliveries of the web shop (schema.sql): one row per packed order, in canonical columns.
-- An order is one drop-off at the customer's ship-to address (job type 3), delivered within
-- the slot booked at checkout but not at a planned time (schedule type 3, unscheduled).
-- `||` concatenates on SQLite and PostgreSQL; on MariaDB/MySQL write CONCAT(a, ' ', b).
SELECT
    o.order_ref                                     AS reference_number,
    o.deliver_on                                    AS scheduled_date,
    3                                               AS job_type_id,
    3                                               AS schedule_type_id,
    o.courier                                       AS delivery_driver_name,
    o.sales_channel                                 AS labels,
    COALESCE(c.company, c.first_name || ' ' || c.surname) AS dropoff_customer_name,
    a.house_and_street                              AS dropoff_address_line_1,
    CASE WHEN a.suburb IS NULL THEN a.city
         ELSE a.suburb || ', ' || a.city END        AS dropoff_address_line_2,
    a.zip                                           AS dropoff_postal_code,
    -- The shop keeps alpha-3 codes; the record wants alpha-2. Others pass through untouched,
    -- and validation rejects them with the delivery number.
    CASE a.country_iso3 WHEN 'ZAF' THEN 'ZA' WHEN 'NAM' THEN 'NA' WHEN 'BWA' THEN 'BW'
         ELSE a.country_iso3 END                    AS dropoff_country_code,
    a.lat                                           AS dropoff_latitude,
    a.lng                                           AS dropoff_longitude,
    c.first_name || ' ' || c.surname               AS dropoff_contact_name,
    c.mobile                                        AS dropoff_contact_number,
    c.email_address                                 AS dropoff_email,
    o.gift_message                                  AS dropoff_note,
    o.slot_from                                     AS dropoff_window_from,
    o.slot_to                                       AS dropoff_window_to
FROM orders o
JOIN customers c ON c.id = o.customer_id
JOIN addresses a ON a.id = o.ship_to_id
WHERE o.fulfilment_state = 'packed'
  AND o.deliver_on >= :window_start
  AND o.deliver_on < :window_end
ORDER BY o.id
