ANALYZE events
