SELECT consent_id::text AS consent_id, bank, access, recurring, frequency_per_day, valid_until, status,
       status_reason, sca_redirect_url, renewal_of::text AS renewal_of, renewed_by::text AS renewed_by,
       requested_at, authorised_at, status_changed_at
FROM consents
WHERE tenant_id = $1::uuid AND user_id = $2::uuid
ORDER BY bank, requested_at DESC, consent_id
