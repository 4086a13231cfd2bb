COPY consents TO STDOUT (FORMAT binary)
