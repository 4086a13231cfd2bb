//! A connection (or open transaction) on either store, borrowed for the length of a step: the runner's, the
//! planner's and the batch-preparing steps are written once and run on both stores.

use sqlx::{PgConnection, SqliteConnection};

use crate::feed::{read_postgres, read_sqlite, Interest};
use crate::read_models::{Dialect, Write};
use crate::{FeedEvent, FeedPosition, ProjectionError};

pub(crate) enum Conn<'c> {
    Postgres(&'c mut PgConnection),
    Sqlite(&'c mut SqliteConnection),
}

/// Evaluates `$body` with `$conn` bound to the `&mut` connection of whichever store `$target` holds. The body
/// is written once and compiled for each store.
macro_rules! on_conn {
    ($target:expr, $conn:ident => $body:expr) => {
        match $target {
            $crate::connection::Conn::Postgres($conn) => $body,
            $crate::connection::Conn::Sqlite($conn) => $body,
        }
    };
}
pub(crate) use on_conn;

impl Conn<'_> {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Conn::Postgres(_) => Dialect::Postgres,
            Conn::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs a statement without parameters.
    pub(crate) async fn run(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        on_conn!(self, conn => sqlx::query(sql).execute(&mut **conn).await.map(|_| ()))
    }

    /// Runs a statement on a projection's checkpoint row with the position it moves to and the events of
    /// the move.
    pub(crate) async fn move_checkpoint(
        &mut self,
        sql: &'static str,
        projection: &str,
        to: FeedPosition,
        events: usize,
    ) -> Result<(), sqlx::Error> {
        on_conn!(self, conn => sqlx::query(sql)
            .bind(projection)
            .bind(to.transaction_id)
            .bind(to.position)
            .bind(events as i64)
            .execute(&mut **conn)
            .await
            .map(|_| ()))
    }

    /// A projection's checkpoint, through `sql` (with or without a row lock).
    pub(crate) async fn checkpoint(
        &mut self,
        sql: &'static str,
        projection: &str,
    ) -> Result<FeedPosition, sqlx::Error> {
        let position: (i64, i64) =
            on_conn!(self, conn => sqlx::query_as(sql).bind(projection).fetch_one(&mut **conn).await)?;
        Ok(position.into())
    }

    /// Up to `limit` feed events after `after`; on PostgreSQL with `interest`, only the events it names come
    /// with their payload and time.
    pub(crate) async fn read(
        &mut self,
        after: FeedPosition,
        limit: i64,
        interest: Option<Interest>,
    ) -> Result<Vec<FeedEvent>, sqlx::Error> {
        match self {
            Conn::Postgres(conn) => read_postgres(conn, after, limit, interest).await,
            Conn::Sqlite(conn) => read_sqlite(conn, after, limit).await,
        }
    }

    /// Runs one planned multi-row write.
    pub(crate) async fn write(&mut self, write: Write) -> Result<(), ProjectionError> {
        match (self, write) {
            (Conn::Postgres(conn), Write::Json { sql, rows }) => {
                sqlx::query(sql).bind(rows).execute(&mut **conn).await.map(|_| ())?
            }
            (Conn::Postgres(conn), Write::Columns { sql, args }) => {
                sqlx::query_with(sql, args).execute(&mut **conn).await.map(|_| ())?
            }
            (Conn::Sqlite(conn), Write::Json { sql, rows }) => {
                sqlx::query(sql).bind(rows).execute(&mut **conn).await.map(|_| ())?
            }
            (Conn::Sqlite(_), Write::Columns { .. }) => return Err(ProjectionError::WrongStore),
        }
        Ok(())
    }
}
