COPY consent_owners FROM STDIN (FORMAT binary)
