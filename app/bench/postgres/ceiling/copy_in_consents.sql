COPY consents FROM STDIN (FORMAT binary)
