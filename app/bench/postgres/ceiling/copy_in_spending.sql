COPY spending FROM STDIN (FORMAT binary)
