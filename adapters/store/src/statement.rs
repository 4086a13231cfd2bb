//! A SQL statement as the `.sql` file(s) it was loaded from: one text both databases accept, or one text per
//! database where their dialects differ (a cast, `UNNEST` against `json_each`, `now()` against `strftime`).

use crate::Backend;

/// One statement, in the spelling of each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    postgres: &'static str,
    sqlite: &'static str,
}

impl Statement {
    /// A statement both databases accept as written.
    pub const fn both(sql: &'static str) -> Self {
        Self {
            postgres: sql,
            sqlite: sql,
        }
    }

    /// A statement spelled differently for each database.
    pub const fn each(postgres: &'static str, sqlite: &'static str) -> Self {
        Self { postgres, sqlite }
    }

    /// The text `backend` speaks.
    pub fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Postgres => self.postgres,
            Backend::Sqlite => self.sqlite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_statement_is_the_same_text_on_both_backends() {
        let statement = Statement::both("SELECT 1");
        assert_eq!(statement.sql(Backend::Postgres), "SELECT 1");
        assert_eq!(statement.sql(Backend::Sqlite), "SELECT 1");
    }

    #[test]
    fn a_statement_spelled_per_backend_gives_each_its_own() {
        let statement = Statement::each("SELECT now()", "SELECT datetime('now')");
        assert_eq!(statement.sql(Backend::Postgres), "SELECT now()");
        assert_eq!(statement.sql(Backend::Sqlite), "SELECT datetime('now')");
    }
}
