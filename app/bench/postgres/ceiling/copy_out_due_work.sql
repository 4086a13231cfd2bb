COPY due_work TO STDOUT (FORMAT binary)
