SELECT consent_id::text AS consent_id, tenant_id::text AS tenant_id, user_id::text AS user_id
FROM consents
WHERE status IN ('received', 'valid') AND valid_until < $1
ORDER BY valid_until, consent_id
