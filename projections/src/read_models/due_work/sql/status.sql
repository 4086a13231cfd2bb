SELECT kind,
       COUNT(*)                                                 AS total,
       SUM(CASE WHEN due_ms <= $1 THEN 1 ELSE 0 END)            AS due,
       MIN(CASE WHEN due_ms <= $1 THEN due_ms END)              AS oldest_due_ms,
       SUM(CASE WHEN lease_until_ms > $1 THEN 1 ELSE 0 END)     AS leased
FROM due_work
GROUP BY kind
ORDER BY kind
