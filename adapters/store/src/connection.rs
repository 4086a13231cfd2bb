//! Connections of either store: a [`DedicatedConnection`] owned for the life of a task, and a [`Conn`]
//! borrowed for one step (a connection or an open transaction). A step written once against [`Conn`] with
//! [`on_conn!`](crate::on_conn) compiles for each store.

use sqlx::{PgConnection, SqliteConnection};

use crate::{Backend, Statement};

/// A connection taken out of its pool for good (see [`crate::Database::dedicated`]).
#[derive(Debug)]
pub enum DedicatedConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl DedicatedConnection {
    pub fn borrow(&mut self) -> Conn<'_> {
        match self {
            DedicatedConnection::Postgres(conn) => Conn::Postgres(conn),
            DedicatedConnection::Sqlite(conn) => Conn::Sqlite(conn),
        }
    }
}

/// A connection, or an open transaction, of either store, borrowed for one step.
#[derive(Debug)]
pub enum Conn<'c> {
    Postgres(&'c mut PgConnection),
    Sqlite(&'c mut SqliteConnection),
}

/// Evaluates `$body` with `$conn` bound to the `&mut` connection of whichever store the [`Conn`] `$target`
/// holds: the body is written once and compiled for each store.
#[macro_export]
macro_rules! on_conn {
    ($target:expr, $conn:ident => $body:expr) => {
        match $target {
            $crate::Conn::Postgres($conn) => $body,
            $crate::Conn::Sqlite($conn) => $body,
        }
    };
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Postgres(_) => Backend::Postgres,
            Conn::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The text of `statement` this connection's store speaks.
    pub fn sql(&self, statement: &Statement) -> &'static str {
        statement.sql(self.backend())
    }

    /// Runs a statement without parameters.
    pub async fn run(&mut self, statement: &Statement) -> Result<(), sqlx::Error> {
        let sql = self.sql(statement);
        on_conn!(self, conn => sqlx::query(sql).execute(&mut **conn).await.map(|_| ()))
    }

    /// Runs a statement of several commands without parameters (a migration, a DDL script).
    pub async fn run_script(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        on_conn!(self, conn => sqlx::raw_sql(sql).execute(&mut **conn).await.map(|_| ()))
    }
}
