DELETE FROM due_work
