-- Items of the web shop (schema.sql): one row per line of a packed order, in canonical columns.
-- Same filter as deliveries.sql, so every item has its delivery.
SELECT
    o.order_ref                                     AS reference_number,
    i.line_pos                                      AS line_number,
    i.product_name                                  AS description,
    i.units                                         AS quantity,
    -- Grams per unit in the shop, kilograms per line in the record.
    i.units * i.unit_weight_g / 1000.0              AS weight_kg,
    1                                               AS item_type_id,
    i.product_code                                  AS sku
FROM order_items i
JOIN orders o ON o.id = i.order_id
WHERE o.fulfilment_state = 'packed'
  AND o.deliver_on >= :window_start
  AND o.deliver_on < :window_end
ORDER BY o.id, i.line_pos
