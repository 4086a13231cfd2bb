SELECT category, currency, flow, total_micros, count
FROM spending
WHERE tenant_id = $1 AND user_id = $2 AND month = $3
ORDER BY flow DESC, category, currency
