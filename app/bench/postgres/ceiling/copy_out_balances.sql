COPY balances TO STDOUT (FORMAT binary)
