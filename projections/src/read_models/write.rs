//! The rows a batch plans, as multi-row writes: a JSON array of rows for one statement, on PostgreSQL one
//! typed array per column (`UNNEST`) or the rows in `COPY`'s binary format, and rows merged into a table
//! through a staging table (see [`Staged`]).

use consentry_store::{Backend, Statement};
use sqlx::encode::IsNull;
use sqlx::postgres::{PgArgumentBuffer, PgArguments};
use sqlx::Postgres;

use crate::ProjectionError;

/// One multi-row write.
pub(crate) enum Write {
    /// The rows as one JSON array (`json_to_recordset` on PostgreSQL, `json_each` on SQLite).
    Json { statement: Statement, rows: String },
    /// PostgreSQL only: one typed array per column (`UNNEST`). For wide rows this is cheaper than JSON, whose
    /// text the server must parse and convert column by column.
    Columns { sql: &'static str, args: PgArguments },
    /// PostgreSQL only: `sql` (a `COPY ... FROM STDIN (FORMAT binary)`) with the rows as its data, the
    /// server's cheapest way in: no statement per row, no parsing, no conversion.
    Copy { sql: &'static str, data: Vec<u8> },
    /// A statement without parameters.
    Run(Statement),
}

/// How a batch's changed rows are merged into a table on both stores with one text of the merge: the rows
/// go into a temporary staging table of the connection's own (`COPY` on PostgreSQL, a JSON array on SQLite),
/// one statement upserts them from there and the staging table is emptied again.
pub(crate) struct Staged {
    /// Creates the staging table if this connection has none yet: `CREATE TEMP TABLE IF NOT EXISTS ... AS
    /// SELECT * FROM the_table WHERE false`.
    pub(crate) create: Statement,
    /// Fills it: `COPY` on PostgreSQL, from `json_each` on SQLite.
    pub(crate) fill: Statement,
    /// Upserts its rows into the table.
    pub(crate) merge: Statement,
    /// Empties it.
    pub(crate) clear: Statement,
}

impl Staged {
    /// The writes that merge `rows` into the table, staged with `COPY` on PostgreSQL; none when there are no
    /// rows.
    pub(crate) fn writes<T: serde::Serialize>(
        &self,
        backend: Backend,
        rows: &[T],
        encode: impl Fn(&T, &mut CopyRows) -> Result<(), ProjectionError>,
    ) -> Result<Vec<Write>, ProjectionError> {
        let fill = match backend {
            Backend::Postgres => copy(self.fill.sql(Backend::Postgres), rows, encode)?,
            Backend::Sqlite => Write::json(self.fill, rows)?,
        };
        Ok(self.around(fill))
    }

    /// The writes that merge `rows` into the table, staged from a JSON array on both stores
    /// (`json_to_recordset` on PostgreSQL); none when there are no rows.
    pub(crate) fn json_writes<T: serde::Serialize>(&self, rows: &[T]) -> Result<Vec<Write>, ProjectionError> {
        Ok(self.around(Write::json(self.fill, rows)?))
    }

    /// The staging table's life around its filling: nothing when there is nothing to fill it with.
    fn around(&self, fill: Option<Write>) -> Vec<Write> {
        match fill {
            Some(fill) => vec![
                Write::Run(self.create),
                fill,
                Write::Run(self.merge),
                Write::Run(self.clear),
            ],
            None => Vec::new(),
        }
    }
}

/// `sql` (a binary `COPY`) over `rows`, each encoded by `encode`; `None` when there are no rows.
pub(crate) fn copy<T>(
    sql: &'static str,
    rows: &[T],
    encode: impl Fn(&T, &mut CopyRows) -> Result<(), ProjectionError>,
) -> Result<Option<Write>, ProjectionError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut data = CopyRows::new();
    for row in rows {
        encode(row, &mut data)?;
    }
    Ok(Some(Write::Copy {
        sql,
        data: data.finish(),
    }))
}

/// Rows in the binary format of PostgreSQL's `COPY`: a header, then each row as its field count and each
/// field as its length and its bytes in the type's binary send format (which sqlx's `Encode` writes), then a
/// trailer. The fields must come in the order of the `COPY`'s column list, each of the column's exact type.
pub(crate) struct CopyRows {
    data: Vec<u8>,
    field: PgArgumentBuffer,
}

/// The format's signature, then its flags and the length of its header extension (both none).
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

impl CopyRows {
    fn new() -> Self {
        Self {
            data: COPY_HEADER.to_vec(),
            field: PgArgumentBuffer::default(),
        }
    }

    /// Starts a row of `fields` fields.
    pub(crate) fn row(&mut self, fields: i16) -> &mut Self {
        self.data.extend_from_slice(&fields.to_be_bytes());
        self
    }

    /// Adds one field of the current row; `None` is SQL null.
    pub(crate) fn field<'q, T>(&mut self, value: T) -> Result<&mut Self, ProjectionError>
    where
        T: sqlx::Encode<'q, Postgres>,
    {
        self.field.clear();
        let null = value
            .encode_by_ref(&mut self.field)
            .map_err(|e| ProjectionError::Arguments(e.to_string()))?;
        match null {
            IsNull::Yes => self.data.extend_from_slice(&(-1i32).to_be_bytes()),
            IsNull::No => {
                let length = i32::try_from(self.field.len())
                    .map_err(|_| ProjectionError::Arguments("a field is over 2 GiB".into()))?;
                self.data.extend_from_slice(&length.to_be_bytes());
                self.data.extend_from_slice(&self.field[..]);
            }
        }
        Ok(self)
    }

    fn finish(mut self) -> Vec<u8> {
        self.data.extend_from_slice(&(-1i16).to_be_bytes());
        self.data
    }
}

impl Write {
    /// `statement` over `rows` as one JSON array; `None` when there are no rows.
    pub(crate) fn json<T: serde::Serialize>(statement: Statement, rows: &[T]) -> Result<Option<Self>, ProjectionError> {
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(Write::Json {
            statement,
            rows: serde_json::to_string(rows)?,
        }))
    }
}

/// An aggregate id as the UUID the read models key on; anything else is an event the read models cannot take.
pub(crate) fn aggregate_uuid(aggregate_type: &str, id: &str) -> Result<uuid::Uuid, ProjectionError> {
    uuid::Uuid::parse_str(id).map_err(|e| ProjectionError::Undecodable {
        event: format!("{aggregate_type} {id}"),
        reason: format!("the aggregate id is not a UUID: {e}"),
    })
}

/// Collects column arrays into the arguments of an `UNNEST` statement, in the order of its placeholders.
#[derive(Default)]
pub(crate) struct Columns(PgArguments);

impl Columns {
    pub(crate) fn add<'q, T>(&mut self, column: T) -> Result<&mut Self, ProjectionError>
    where
        T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + 'q,
    {
        sqlx::Arguments::<'q>::add(&mut self.0, column).map_err(|e| ProjectionError::Arguments(e.to_string()))?;
        Ok(self)
    }

    pub(crate) fn into_write(self, statement: Statement) -> Write {
        Write::Columns {
            sql: statement.sql(Backend::Postgres),
            args: self.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_are_postgres_binary_copy_data() {
        let mut rows = CopyRows::new();
        rows.row(3)
            .field(7i32)
            .and_then(|r| r.field(None::<&str>))
            .and_then(|r| r.field("ab"))
            .expect("fields");
        let data = rows.finish();
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend([0u8; 8]);
        expected.extend(3i16.to_be_bytes());
        expected.extend(4i32.to_be_bytes());
        expected.extend(7i32.to_be_bytes());
        expected.extend((-1i32).to_be_bytes());
        expected.extend(2i32.to_be_bytes());
        expected.extend(b"ab");
        expected.extend((-1i16).to_be_bytes());
        assert_eq!(data, expected);
    }

    #[test]
    fn a_staged_merge_creates_fills_merges_and_empties_and_no_rows_write_nothing() {
        let staged = Staged {
            create: Statement::both("create"),
            fill: Statement::each("copy", "fill"),
            merge: Statement::both("merge"),
            clear: Statement::both("clear"),
        };
        let encode = |n: &i64, rows: &mut CopyRows| rows.row(1).field(*n).map(|_| ());
        let names = |writes: Vec<Write>| -> Vec<&'static str> {
            writes
                .into_iter()
                .map(|w| match w {
                    Write::Run(s) | Write::Json { statement: s, .. } => s.sql(Backend::Sqlite),
                    Write::Copy { sql, .. } | Write::Columns { sql, .. } => sql,
                })
                .collect()
        };
        let postgres = staged.writes(Backend::Postgres, &[1i64, 2], encode).expect("writes");
        assert_eq!(names(postgres), ["create", "copy", "merge", "clear"]);
        let sqlite = staged.writes(Backend::Sqlite, &[1i64, 2], encode).expect("writes");
        assert_eq!(names(sqlite), ["create", "fill", "merge", "clear"]);
        assert!(staged
            .writes(Backend::Postgres, &[] as &[i64], encode)
            .expect("writes")
            .is_empty());
        assert!(staged.json_writes(&[] as &[i64]).expect("writes").is_empty());
    }
}
