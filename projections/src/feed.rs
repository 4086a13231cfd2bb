//! The globally ordered event feed over both stores.
//!
//! Every committed event has a [`FeedPosition`]. On PostgreSQL it is the pair (id of the writing transaction,
//! sequence number drawn at insert), and a reader only sees transactions older than the oldest one of this
//! database still running (like `pg_snapshot_xmin`, but ignoring other databases' transactions, which cannot
//! write here): a transaction that is still open, or that starts later, always has a larger id, so once a
//! reader has seen position P no event can later appear below P, even when concurrent writers commit out of
//! order. On SQLite writers are serialised, so the position a trigger draws at insert is commit order
//! (the transaction part is always 0).

use std::fmt;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use consentry_domain::account_data::AccountDataEvent;
use consentry_domain::consent::ConsentEvent;
use consentry_domain::payment::PaymentEvent;
use consentry_domain::versioning;
use consentry_store::{on_pool, Conn, Database, Statement};

use crate::ProjectionError;

/// The aggregate types of the domain (`Aggregate::TYPE`), as stored in `events.aggregate_type`.
pub const CONSENT: &str = "Consent";
pub const PAYMENT: &str = "Payment";
pub const ACCOUNT_DATA: &str = "AccountData";

/// Reads a batch after a position, oldest first (ordered by the columns, not the casts, so the index serves
/// it), up to the feed's horizon. On PostgreSQL the horizon (`consentry_feed_horizon()`, the projections'
/// migration 0021) is the oldest transaction that was still running when the statement's snapshot was taken
/// and may write events. Transactions of other databases on the server
/// (identified through `pg_stat_activity`) cannot write this `events` table, so they do not hold the feed back;
/// an unidentified one (finished meanwhile, or hidden from this role) counts as running, which only delays the
/// read. Nor does a projection rebuild's transaction, which writes read-model rows but never events and marks
/// itself with `application_name = 'consentry-rebuild'` before it takes a transaction id (the runner's
/// `MARK_REBUILD`): otherwise every live projection would stand still until the rebuild committed. With none
/// running, the horizon is the snapshot's `xmax`. With an interest (`$4` aggregate types, `$5`
/// event types), the other events come without payload and metadata: the server need not send them to a
/// projection that skips them. The transaction id comes as the `xid8` it is stored as (see `TransactionId`). (SQLite reads them all: its reader is the writer's own
/// process, with nothing to save on the wire.)
const READ: Statement = Statement::each(
    include_str!("sql/feed/read.postgres.sql"),
    include_str!("sql/feed/read.sqlite.sql"),
);
/// The last position a reader can see now (the same horizon as [`READ`]).
const HEAD: Statement = Statement::each(
    include_str!("sql/feed/head.postgres.sql"),
    include_str!("sql/feed/head.sqlite.sql"),
);
/// How many events lie beyond a position (including ones whose transaction is still below the horizon).
const COUNT_AFTER: Statement = Statement::each(
    include_str!("sql/feed/count_after.postgres.sql"),
    include_str!("sql/feed/count_after.sqlite.sql"),
);
const AGGREGATE_IDS: Statement = Statement::each(
    include_str!("sql/feed/aggregate_ids.postgres.sql"),
    include_str!("sql/feed/aggregate_ids.sqlite.sql"),
);

/// Where an event sits in the feed; positions compare in feed order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedPosition {
    /// The writing transaction's id on PostgreSQL; 0 on SQLite.
    pub transaction_id: i64,
    pub position: i64,
}

impl FeedPosition {
    /// Before the first event.
    pub const START: FeedPosition = FeedPosition {
        transaction_id: 0,
        position: 0,
    };
}

impl From<(i64, i64)> for FeedPosition {
    fn from((transaction_id, position): (i64, i64)) -> Self {
        Self {
            transaction_id,
            position,
        }
    }
}

impl fmt::Display for FeedPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.transaction_id, self.position)
    }
}

/// One event as stored, with its feed position. The payload and the metadata stay JSON text until a projection
/// decodes them, so readers that skip an event do not pay for it; of the metadata, projections read only the
/// time the event occurred (the rest is for audits, which read the aggregate's history).
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// The writing transaction's id on PostgreSQL (read as the `xid8` it is stored as); 0 on SQLite.
    pub transaction_id: i64,
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// `None` when the reader's [`Interest`] left it out.
    pub payload: Option<String>,
    /// The metadata as stored (a JSON object); `None` when the reader's [`Interest`] left it out.
    pub metadata: Option<String>,
    /// What [`FeedEvent::decode`] and [`FeedEvent::occurred_at`] found, kept for the other read models that
    /// plan the same event in the same batch.
    pub(crate) decoded: Decoded,
}

/// An event's payload and time, decoded once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Decoded {
    event: OnceLock<DomainEvent>,
    occurred_at: OnceLock<DateTime<Utc>>,
}

/// A row of [`READ`], whose columns come in the order of the fields with the types its statements give them.
/// They are taken by position and without checking each value's type against the column's: a rebuild reads a
/// million rows, and finding each column by its name and checking its type cost more than decoding it. (A
/// value of another type fails to decode; it is never misread.)
impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for FeedEvent
where
    usize: sqlx::ColumnIndex<R>,
    TransactionId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Self {
            transaction_id: row.try_get_unchecked::<TransactionId, _>(0)?.0,
            position: row.try_get_unchecked(1)?,
            aggregate_type: row.try_get_unchecked(2)?,
            aggregate_id: row.try_get_unchecked(3)?,
            sequence: row.try_get_unchecked(4)?,
            event_type: row.try_get_unchecked(5)?,
            event_version: row.try_get_unchecked(6)?,
            payload: row.try_get_unchecked(7)?,
            metadata: row.try_get_unchecked(8)?,
            decoded: Decoded::default(),
        })
    }
}

/// The one field of an event's metadata the read models use. Taken out of the metadata here rather than by the
/// database: PostgreSQL would parse the whole `json` value of every event for it, on the server's one backend
/// that feeds the projection.
#[derive(serde::Deserialize)]
struct Stamp<'a> {
    #[serde(borrow)]
    occurred_at: std::borrow::Cow<'a, str>,
}

/// A feed position's transaction id as the feed reads it: PostgreSQL's `xid8`, decoded from its binary form
/// (casting it to `bigint` through text costs the server more than reading the rest of the event), or
/// SQLite's integer 0.
struct TransactionId(i64);

/// `xid8` is a built-in type of PostgreSQL 13 and later, with this fixed OID.
const XID8_OID: sqlx::postgres::types::Oid = sqlx::postgres::types::Oid(5069);

impl sqlx::Type<sqlx::Postgres> for TransactionId {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        sqlx::postgres::PgTypeInfo::with_oid(XID8_OID)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for TransactionId {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        // An unsigned 64-bit integer, in the same eight bytes (binary) or digits (text) as a `bigint`; epochs
        // would have to pass 2^31 before it left `i64`'s range.
        <i64 as sqlx::Decode<sqlx::Postgres>>::decode(value).map(Self)
    }
}

impl sqlx::Type<sqlx::Sqlite> for TransactionId {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <i64 as sqlx::Type<sqlx::Sqlite>>::type_info()
    }

    fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for TransactionId {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        <i64 as sqlx::Decode<sqlx::Sqlite>>::decode(value).map(Self)
    }
}

/// A domain event the read models know, decoded (and upcast to its current shape).
#[derive(Debug, Clone)]
pub enum DomainEvent {
    Consent(ConsentEvent),
    Payment(PaymentEvent),
    AccountData(AccountDataEvent),
    /// An aggregate this version of the read models does not follow.
    Other,
}

impl FeedEvent {
    pub fn feed_position(&self) -> FeedPosition {
        FeedPosition {
            transaction_id: self.transaction_id,
            position: self.position,
        }
    }

    fn undecodable(&self, reason: impl fmt::Display) -> ProjectionError {
        ProjectionError::Undecodable {
            event: format!(
                "{} {} #{} ({} {})",
                self.aggregate_type, self.aggregate_id, self.sequence, self.event_type, self.event_version
            ),
            reason: reason.to_string(),
        }
    }

    /// The domain event, upcast to its current version. An event of a known aggregate that does not decode is
    /// an error: a read model must never skip it silently. The payload is parsed once; the other read models
    /// of the batch get a copy.
    pub fn decode(&self) -> Result<DomainEvent, ProjectionError> {
        if let Some(event) = self.decoded.event.get() {
            return Ok(event.clone());
        }
        let event = match self.aggregate_type.as_str() {
            CONSENT => DomainEvent::Consent(self.decode_payload()?),
            PAYMENT => DomainEvent::Payment(self.decode_payload()?),
            ACCOUNT_DATA => DomainEvent::AccountData(self.decode_payload()?),
            _ => DomainEvent::Other,
        };
        Ok(self.decoded.event.get_or_init(|| event).clone())
    }

    fn decode_payload<E: serde::de::DeserializeOwned>(&self) -> Result<E, ProjectionError> {
        let payload = self
            .payload
            .as_deref()
            .ok_or_else(|| self.undecodable("its payload was not read: it is outside the reader's interest"))?;
        let decoded = if versioning::needs_upcast(&self.event_type, &self.event_version) {
            let stored: serde_json::Value = serde_json::from_str(payload).map_err(|e| self.undecodable(e))?;
            let current = versioning::upcast(&self.aggregate_type, &self.event_type, &self.event_version, stored);
            serde_json::from_value(current)
        } else {
            serde_json::from_str(payload)
        };
        decoded.map_err(|e| self.undecodable(e))
    }

    /// When the event happened, by the engine's clock (the `occurred_at` of its metadata), read once.
    pub fn occurred_at(&self) -> Result<DateTime<Utc>, ProjectionError> {
        if let Some(at) = self.decoded.occurred_at.get() {
            return Ok(*at);
        }
        let metadata = self
            .metadata
            .as_deref()
            .ok_or_else(|| self.undecodable("its metadata was not read: it is outside the reader's interest"))?;
        let stamp: Stamp = serde_json::from_str(metadata).map_err(|e| self.undecodable(format!("metadata: {e}")))?;
        let at = DateTime::parse_from_rfc3339(&stamp.occurred_at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| self.undecodable(format!("metadata.occurred_at: {e}")))?;
        Ok(*self.decoded.occurred_at.get_or_init(|| at))
    }
}

/// The events whose payload and time a reader needs: those of `aggregate_types`, and those of `event_types`
/// whatever their aggregate. The others still come, with their positions, so the reader's checkpoint passes
/// them.
#[derive(Debug, Clone, Copy)]
pub struct Interest {
    pub aggregate_types: &'static [&'static str],
    pub event_types: &'static [&'static str],
}

/// The account-information read models read AccountData events, and a consent's owner (tenant, user, bank)
/// from its request.
pub(crate) const ACCOUNT_INFORMATION_INTEREST: Interest = Interest {
    aggregate_types: &[ACCOUNT_DATA],
    event_types: &["ConsentRequested"],
};

/// Reads up to `limit` events after `after` on an open connection or transaction; with `interest` (heeded on
/// PostgreSQL), only the events it names come with their payload and metadata.
pub(crate) async fn read(
    conn: &mut Conn<'_>,
    after: FeedPosition,
    limit: i64,
    interest: Option<Interest>,
) -> Result<Vec<FeedEvent>, sqlx::Error> {
    let sql = conn.sql(&READ);
    match conn {
        Conn::Postgres(conn) => {
            sqlx::query_as(sql)
                .bind(after.transaction_id.to_string())
                .bind(after.position)
                .bind(limit)
                .bind(interest.map(|i| i.aggregate_types))
                .bind(interest.map(|i| i.event_types).unwrap_or_default())
                .fetch_all(&mut **conn)
                .await
        }
        Conn::Sqlite(conn) => {
            sqlx::query_as(sql)
                .bind(after.position)
                .bind(limit)
                .fetch_all(&mut **conn)
                .await
        }
    }
}

/// A reader of the feed for anyone outside a projection (tests, audits, tools).
#[derive(Clone, Debug)]
pub struct Feed {
    database: Database,
}

impl Feed {
    pub fn new(database: Database) -> Self {
        Self { database }
    }

    /// Up to `limit` events after `after`, in feed order.
    pub async fn read_after(&self, after: FeedPosition, limit: i64) -> Result<Vec<FeedEvent>, ProjectionError> {
        let events = match &self.database {
            Database::Postgres(pool) => {
                read(&mut Conn::Postgres(&mut *pool.acquire().await?), after, limit, None).await
            }
            Database::Sqlite(pool) => read(&mut Conn::Sqlite(&mut *pool.acquire().await?), after, limit, None).await,
        };
        Ok(events?)
    }

    /// The position of the last event a reader can see now ([`FeedPosition::START`] on an empty log).
    pub async fn head(&self) -> Result<FeedPosition, ProjectionError> {
        let sql = HEAD.sql(self.database.backend());
        let head: Option<(i64, i64)> =
            on_pool!(&self.database, pool => sqlx::query_as(sql).fetch_optional(pool).await)?;
        Ok(head.map(FeedPosition::from).unwrap_or(FeedPosition::START))
    }

    /// How many events are stored beyond `after`.
    pub async fn count_after(&self, after: FeedPosition) -> Result<i64, ProjectionError> {
        let sql = COUNT_AFTER.sql(self.database.backend());
        let (count,): (i64,) = match &self.database {
            Database::Postgres(pool) => {
                sqlx::query_as(sql)
                    .bind(after.transaction_id.to_string())
                    .bind(after.position)
                    .fetch_one(pool)
                    .await?
            }
            Database::Sqlite(pool) => sqlx::query_as(sql).bind(after.position).fetch_one(pool).await?,
        };
        Ok(count)
    }

    /// The ids of every aggregate of `aggregate_type` in the log, oldest first.
    pub async fn aggregate_ids(&self, aggregate_type: &str) -> Result<Vec<String>, ProjectionError> {
        let sql = AGGREGATE_IDS.sql(self.database.backend());
        let ids: Vec<(String,)> =
            on_pool!(&self.database, pool => sqlx::query_as(sql).bind(aggregate_type).fetch_all(pool).await)?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }
}
