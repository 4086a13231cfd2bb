DELETE FROM spending
