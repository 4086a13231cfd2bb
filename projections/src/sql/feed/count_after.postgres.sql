SELECT count(*) FROM events WHERE (transaction_id, position) > ($1::text::xid8, $2)
