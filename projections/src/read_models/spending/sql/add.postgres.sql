INSERT INTO spending (tenant_id, user_id, month, category, currency, flow, total_micros, count)
SELECT tenant_id, user_id, month, category, currency, flow, total_micros, count
FROM json_to_recordset($1::json) AS r(tenant_id uuid, user_id uuid, month text, category text, currency text,
                                      flow text, total_micros bigint, count bigint)
ON CONFLICT (tenant_id, user_id, month, category, currency, flow) DO UPDATE SET
    total_micros = spending.total_micros + excluded.total_micros,
    count        = spending.count + excluded.count
