-- Items of the sample ERP: one row per line of a pending delivery note, in canonical columns.
-- Same window and status filter as sample_deliveries.sql, so every item has its delivery.
SELECT
    dn.delivery_no                  AS reference_number,
    dl.line_no                      AS line_number,
    dl.description                  AS description,
    dl.qty                          AS quantity,
    dl.gross_weight_kg              AS weight_kg,
    CASE WHEN dl.line_kind = 'SERVICE' THEN 2 ELSE 1 END AS item_type_id,
    dl.article_no                   AS sku,
    dl.barcode                      AS tracking_number,
    dl.length_cm                    AS length_cm,
    dl.width_cm                     AS width_cm,
    dl.height_cm                    AS height_cm
FROM delivery_lines dl
JOIN delivery_notes dn ON dn.delivery_note_id = dl.delivery_note_id
WHERE dn.status = 'pending'
  AND dn.ship_date >= :window_start
  AND dn.ship_date < :window_end
ORDER BY dn.delivery_note_id, dl.line_no
