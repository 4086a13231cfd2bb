COPY payments TO STDOUT (FORMAT binary)
