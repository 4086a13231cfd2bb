COPY spending TO STDOUT (FORMAT binary)
