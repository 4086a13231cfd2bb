COPY balances FROM STDIN (FORMAT binary)
