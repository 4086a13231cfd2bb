SELECT count(*) FROM events WHERE position > $1
