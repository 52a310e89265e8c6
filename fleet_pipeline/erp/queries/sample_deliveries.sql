-- Deliveries of the sample ERP, one row per pending delivery note, in canonical columns.
-- Runs unchanged on SQLite, PostgreSQL and MariaDB: plain joins, CASE and aliases only.
-- :window_start and :window_end bound the half-open window [start, end) of ship dates.
-- delivery_driver_id is left out on purpose: the sample sends drivers by name, and a canonical
-- column the query does not return arrives as NULL.
SELECT
    dn.delivery_no                  AS reference_number,
    dn.ship_date                    AS scheduled_date,
    CASE WHEN dn.collect_from_address_id IS NULL THEN 3 ELSE 1 END AS job_type_id,
    CASE WHEN dn.planned_arrival IS NULL THEN 3 ELSE 2 END         AS schedule_type_id,
    dn.planned_arrival              AS scheduled_delivery_ts,
    drv.display_name                AS delivery_driver_name,
    dn.tags                         AS labels,
    pc.name                         AS pickup_customer_name,
    pa.street                       AS pickup_address_line_1,
    pa.locality                     AS pickup_address_line_2,
    pa.postcode                     AS pickup_postal_code,
    pa.country_iso                  AS pickup_country_code,
    pa.geo_lat                      AS pickup_latitude,
    pa.geo_lon                      AS pickup_longitude,
    pa.contact_person               AS pickup_contact_name,
    pa.phone                        AS pickup_contact_number,
    pa.email                        AS pickup_email,
    NULL                            AS pickup_note,
    NULL                            AS pickup_window_from,
    NULL                            AS pickup_window_to,
    pa.service_minutes              AS pickup_duration_minutes,
    cu.name                         AS dropoff_customer_name,
    da.street                       AS dropoff_address_line_1,
    da.locality                     AS dropoff_address_line_2,
    da.postcode                     AS dropoff_postal_code,
    da.country_iso                  AS dropoff_country_code,
    da.geo_lat                      AS dropoff_latitude,
    da.geo_lon                      AS dropoff_longitude,
    da.contact_person               AS dropoff_contact_name,
    da.phone                        AS dropoff_contact_number,
    da.email                        AS dropoff_email,
    dn.driver_instructions          AS dropoff_note,
    dn.window_from                  AS dropoff_window_from,
    dn.window_to                    AS dropoff_window_to,
    dn.unload_minutes               AS dropoff_duration_minutes
FROM delivery_notes dn
JOIN sales_orders so ON so.order_id = dn.order_id
JOIN customers cu ON cu.customer_id = so.customer_id
JOIN addresses da ON da.address_id = dn.deliver_to_address_id
LEFT JOIN addresses pa ON pa.address_id = dn.collect_from_address_id
LEFT JOIN customers pc ON pc.customer_id = pa.customer_id
LEFT JOIN drivers drv ON drv.driver_id = dn.driver_id
WHERE dn.status = 'pending'
  AND dn.ship_date >= :window_start
  AND dn.ship_date < :window_end
ORDER BY dn.delivery_note_id
