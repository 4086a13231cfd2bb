COPY consent_owners TO STDOUT (FORMAT binary)
