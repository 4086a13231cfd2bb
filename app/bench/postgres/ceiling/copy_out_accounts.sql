COPY accounts TO STDOUT (FORMAT binary)
