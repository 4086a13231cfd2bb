COPY payments FROM STDIN (FORMAT binary)
