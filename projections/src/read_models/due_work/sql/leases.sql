SELECT lease_owner, COUNT(*) AS held, MAX(lease_until_ms) AS until_ms
FROM due_work
WHERE lease_until_ms > $1
GROUP BY lease_owner
ORDER BY lease_owner
