INSERT INTO spending (tenant_id, user_id, month, category, currency, flow, total_micros, count)
SELECT value ->> 'tenant_id', value ->> 'user_id', value ->> 'month', value ->> 'category', value ->> 'currency',
       value ->> 'flow', value ->> 'total_micros', value ->> 'count'
FROM json_each($1)
WHERE true
ON CONFLICT (tenant_id, user_id, month, category, currency, flow) DO UPDATE SET
    total_micros = spending.total_micros + excluded.total_micros,
    count        = spending.count + excluded.count
