SELECT bank, status, CAST(valid_until AS text) AS valid_until
FROM consents
WHERE CAST(tenant_id AS text) = $1 AND CAST(user_id AS text) = $2
ORDER BY bank
