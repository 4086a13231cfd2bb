INSERT INTO incoming_consents (consent_id, tenant_id, user_id, bank, access, recurring, frequency_per_day,
                               valid_until, status, status_reason, bank_consent_id, sca_approach,
                               sca_redirect_url, renewal_of, renewed_by, requested_at, authorised_at,
                               status_changed_at, updated_at, event_count)
SELECT value ->> 'consent_id', value ->> 'tenant_id', value ->> 'user_id', value ->> 'bank', value ->> 'access',
       value ->> 'recurring', value ->> 'frequency_per_day', value ->> 'valid_until', value ->> 'status',
       value ->> 'status_reason', value ->> 'bank_consent_id', value ->> 'sca_approach',
       value ->> 'sca_redirect_url', value ->> 'renewal_of', value ->> 'renewed_by', value ->> 'requested_at',
       value ->> 'authorised_at', value ->> 'status_changed_at', value ->> 'updated_at', value ->> 'event_count'
FROM json_each($1)
