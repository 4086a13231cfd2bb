SELECT consent_id::text AS consent_id, bank FROM consents
  WHERE tenant_id = $1::uuid AND user_id = $2::uuid AND status = 'valid' ORDER BY bank
