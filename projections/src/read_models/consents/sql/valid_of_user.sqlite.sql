SELECT consent_id, bank FROM consents WHERE tenant_id = $1 AND user_id = $2 AND status = 'valid' ORDER BY bank
