INSERT INTO consents (consent_id, tenant_id, user_id, bank, access, recurring, frequency_per_day, valid_until,
                      status, status_reason, bank_consent_id, sca_approach, sca_redirect_url, renewal_of,
                      renewed_by, requested_at, authorised_at, status_changed_at, updated_at, event_count)
SELECT consent_id, tenant_id, user_id, bank, access, recurring, frequency_per_day, valid_until, status,
       status_reason, bank_consent_id, sca_approach, sca_redirect_url, renewal_of, renewed_by, requested_at,
       authorised_at, status_changed_at, updated_at, event_count
FROM incoming_consents
WHERE true
ON CONFLICT (consent_id) DO UPDATE SET
    tenant_id         = coalesce(excluded.tenant_id, consents.tenant_id),
    user_id           = coalesce(excluded.user_id, consents.user_id),
    bank              = coalesce(excluded.bank, consents.bank),
    access            = coalesce(excluded.access, consents.access),
    recurring         = coalesce(excluded.recurring, consents.recurring),
    frequency_per_day = coalesce(excluded.frequency_per_day, consents.frequency_per_day),
    valid_until       = coalesce(excluded.valid_until, consents.valid_until),
    status            = coalesce(excluded.status, consents.status),
    status_reason     = coalesce(excluded.status_reason, consents.status_reason),
    bank_consent_id   = coalesce(excluded.bank_consent_id, consents.bank_consent_id),
    sca_approach      = coalesce(excluded.sca_approach, consents.sca_approach),
    sca_redirect_url  = coalesce(excluded.sca_redirect_url, consents.sca_redirect_url),
    renewal_of        = coalesce(excluded.renewal_of, consents.renewal_of),
    renewed_by        = coalesce(excluded.renewed_by, consents.renewed_by),
    requested_at      = coalesce(excluded.requested_at, consents.requested_at),
    authorised_at     = coalesce(excluded.authorised_at, consents.authorised_at),
    status_changed_at = coalesce(excluded.status_changed_at, consents.status_changed_at),
    updated_at        = coalesce(excluded.updated_at, consents.updated_at),
    event_count       = consents.event_count + excluded.event_count
