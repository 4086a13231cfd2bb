COPY payment_status_changes FROM STDIN (FORMAT binary)
