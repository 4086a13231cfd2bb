SELECT MIN(CASE WHEN lease_until_ms IS NULL OR lease_until_ms < due_ms THEN due_ms ELSE lease_until_ms END)
           AS next_ms
FROM due_work
WHERE kind IN (SELECT json_array_elements_text($1::json))
