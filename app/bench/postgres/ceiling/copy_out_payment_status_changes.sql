COPY payment_status_changes TO STDOUT (FORMAT binary)
