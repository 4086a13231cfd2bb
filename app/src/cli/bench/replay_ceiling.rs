//! The ceiling of `bench replay` on PostgreSQL: the least time this machine needs to write the rows the rebuild
//! wrote. Once Consentry has rebuilt the read models, every table the rebuild fills is exported with `COPY ...
//! TO STDOUT` (binary format, the cheapest for the server to load), emptied (its indexes stay), and the same
//! rows are written back with `COPY ... FROM STDIN` in one transaction, which is what is timed. The rebuild has
//! to read and fold the log as well, so the fair comparison is the wall time of producing the same tables.
//!
//! The exported rows go through a temporary file, not memory: held in memory, the rows of a million events
//! would add their whole size to the peak memory the benchmark reports for the rebuild.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use sqlx::PgPool;

use super::BenchResult;

/// One read-model table: its export and its load.
struct Table {
    name: &'static str,
    copy_out: &'static str,
    copy_in: &'static str,
}

/// Every table a rebuild fills: the read models' own (`Projection::tables`) and `consent_owners`, which the
/// account-information projections share. Parents before children, though no foreign key needs it today.
const TABLES: [Table; 9] = [
    Table {
        name: "consents",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_consents.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_consents.sql"),
    },
    Table {
        name: "consent_owners",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_consent_owners.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_consent_owners.sql"),
    },
    Table {
        name: "payments",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_payments.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_payments.sql"),
    },
    Table {
        name: "payment_status_changes",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_payment_status_changes.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_payment_status_changes.sql"),
    },
    Table {
        name: "accounts",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_accounts.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_accounts.sql"),
    },
    Table {
        name: "balances",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_balances.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_balances.sql"),
    },
    Table {
        name: "transactions",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_transactions.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_transactions.sql"),
    },
    Table {
        name: "spending",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_spending.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_spending.sql"),
    },
    Table {
        name: "due_work",
        copy_out: include_str!("../../../bench/postgres/ceiling/copy_out_due_work.sql"),
        copy_in: include_str!("../../../bench/postgres/ceiling/copy_in_due_work.sql"),
    },
];

/// Empties every table of [`TABLES`] at once.
const EMPTY_READ_MODELS: &str = include_str!("../../../bench/postgres/ceiling/empty_read_models.sql");

/// What the ceiling measured.
pub struct Ceiling {
    pub rows: u64,
    pub elapsed: Duration,
}

/// Exports the rebuilt tables, empties them, and times writing the same rows back in one transaction.
pub async fn measure(pool: &PgPool) -> BenchResult<Ceiling> {
    let exports = Exports::new();
    let outcome = async {
        let mut conn = pool.acquire().await?;
        for table in &TABLES {
            let mut file = BufWriter::new(File::create(exports.path(table))?);
            let mut exported = conn.copy_out_raw(table.copy_out).await?;
            while let Some(chunk) = exported.try_next().await? {
                file.write_all(&chunk)?;
            }
            file.flush()?;
        }
        // Committed before the clock starts, so the load writes its WAL as the rebuild did (under
        // `wal_level = minimal` a table emptied in the loading transaction itself skips the WAL).
        sqlx::raw_sql(EMPTY_READ_MODELS).execute(&mut *conn).await?;

        let mut buffer = vec![0u8; 1 << 20];
        let started = Instant::now();
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let mut rows = 0;
        for table in &TABLES {
            let mut file = File::open(exports.path(table))?;
            let mut copy = tx.copy_in_raw(table.copy_in).await?;
            loop {
                let read = file.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                copy.send(&buffer[..read]).await?;
            }
            rows += copy.finish().await?;
        }
        tx.commit().await?;
        Ok(Ceiling {
            rows,
            elapsed: started.elapsed(),
        })
    }
    .await;
    exports.remove();
    outcome
}

/// The temporary files holding the exported rows, one per table.
struct Exports {
    prefix: String,
}

impl Exports {
    fn new() -> Self {
        Self {
            prefix: format!("consentry_ceiling_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    fn path(&self, table: &Table) -> PathBuf {
        std::env::temp_dir().join(format!("{}_{}.copy", self.prefix, table.name))
    }

    fn remove(&self) {
        for table in &TABLES {
            let _ = std::fs::remove_file(self.path(table));
        }
    }
}

#[cfg(test)]
mod tests {
    use consentry_projections::Projection;

    use super::TABLES;

    #[test]
    fn every_read_model_table_is_copied() {
        for projection in Projection::ALL {
            for table in projection.tables() {
                assert!(
                    TABLES.iter().any(|copied| copied.name == *table),
                    "the replay ceiling does not copy `{table}` of projection {projection}"
                );
            }
        }
    }
}
