DELETE FROM main.due_work
