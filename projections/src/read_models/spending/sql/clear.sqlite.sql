DELETE FROM main.spending
