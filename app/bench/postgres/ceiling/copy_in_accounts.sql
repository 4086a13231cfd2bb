COPY accounts FROM STDIN (FORMAT binary)
