COPY transactions TO STDOUT (FORMAT binary)
