COPY payment_status_changes (payment_id, sequence, status, changed_at) FROM STDIN (FORMAT binary)
