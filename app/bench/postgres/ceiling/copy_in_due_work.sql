COPY due_work FROM STDIN (FORMAT binary)
