COPY transactions FROM STDIN (FORMAT binary)
