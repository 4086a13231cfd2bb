COPY incoming_consents (consent_id, tenant_id, user_id, bank, access, recurring, frequency_per_day, valid_until,
                        status, status_reason, bank_consent_id, sca_approach, sca_redirect_url, renewal_of,
                        renewed_by, requested_at, authorised_at, status_changed_at, updated_at, event_count)
FROM STDIN (FORMAT binary)
