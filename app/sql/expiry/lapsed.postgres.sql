SELECT consent_id::text, tenant_id::text, user_id::text
FROM consents
WHERE status IN ('received', 'valid') AND valid_until < $1
ORDER BY valid_until, consent_id
