SELECT consent_id, tenant_id, user_id
FROM consents
WHERE status IN ('received', 'valid') AND valid_until < $1
ORDER BY valid_until, consent_id
