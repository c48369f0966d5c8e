//! The error policy, in one place.
//!
//! - Domain code returns [`AppError`]: a value for everything a client can cause, each with the
//!   code of api.md, and `Internal`/`Db` for bugs and outages.
//! - The GraphQL layer turns an `AppError` into an error with `extensions.code` (and `field`,
//!   `status`, `action` where they apply). Messages of client errors are plain and safe to
//!   show; internal errors are logged (inside the request's span, so with its request id) and
//!   reach the client only as "internal error".
//! - A case the viewer may not see is `NotFound`, exactly like one that does not exist.
//!
//! Helpers such as [`bad_input`] keep call sites short.

use sea_orm::{DbErr, SqlErr};

///
/// `AppError` deliberately does not implement `Display`: async-graphql converts anything
/// displayable into an error *without* extensions, and a `?` that silently dropped the code
/// would be a bug. The only way out of the domain is [`AppError::message`] and the GraphQL
/// layer's conversion, which keeps the code.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(&'static str),
    Forbidden(String),
    NotFound(&'static str),
    BadInput {
        field: String,
        message: String,
    },
    Conflict(String),
    /// The case's state does not allow the action; `why` adds a condition when the state
    /// alone does not explain it.
    InvalidTransition {
        status: String,
        action: String,
        why: Option<String>,
    },
    DeadlinePassed(String),
    RateLimited(String),
    Unavailable(String),
    /// A retry of an action already done under the same idempotency key: the caller answers
    /// with the case (and the record the action created or decided) as it is now, as the
    /// first call did (never sent as an error).
    Replayed {
        case_id: i64,
        record_id: Option<i64>,
    },
    /// An automatic persisted query sent by its hash alone, which this server has not seen
    /// (the client sends the text with the hash next, as the protocol says).
    PersistedQueryNotFound,
    Internal(String),
    Db(DbErr),
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        let e = AppError::Db(e);
        if e.is_unstorable_text() {
            return bad_input("input", "text may not contain NUL characters");
        }
        e
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// A unique key of the schema, by its PostgreSQL constraint name and its table and columns
/// (as SQLite reports them), for [`AppError::violates`].
pub struct UniqueKey {
    pub name: &'static str,
    pub table: &'static str,
    pub columns: &'static [&'static str],
}

/// `idempotency_keys (user_id, key)`: a retry's key taken by a concurrent request.
pub const IDEMPOTENCY_KEY: UniqueKey = UniqueKey {
    name: "idempotency_keys_pkey",
    table: "idempotency_keys",
    columns: &["user_id", "key"],
};

pub const HOTLINE_TICKET: UniqueKey = UniqueKey {
    name: "ux_hotline_tickets_county_number",
    table: "hotline_tickets",
    columns: &["county_id", "ticket_number"],
};

/// `BAD_USER_INPUT` naming the offending input field (as the client spelled it).
pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::BadInput {
        field: field.into(),
        message: message.into(),
    }
}

pub fn forbidden(message: impl Into<String>) -> AppError {
    AppError::Forbidden(message.into())
}

pub fn conflict(message: impl Into<String>) -> AppError {
    AppError::Conflict(message.into())
}

pub fn internal(detail: impl Into<String>) -> AppError {
    AppError::Internal(detail.into())
}

impl AppError {
    /// The message a client may see. Internal detail never appears here.
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated(m) => (*m).to_string(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::BadInput { message, .. } => message.clone(),
            AppError::InvalidTransition {
                status,
                action,
                why,
            } => match why {
                Some(why) => format!("cannot {action} a case that is {status}: {why}"),
                None => format!("cannot {action} a case that is {status}"),
            },
            AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::DeadlinePassed(m)
            | AppError::RateLimited(m)
            | AppError::Unavailable(m) => m.clone(),
            AppError::Internal(_) | AppError::Db(_) => "internal error".to_string(),
            AppError::Replayed { .. } => "this request was already carried out".to_string(),
            // The exact words clients of the protocol look for.
            AppError::PersistedQueryNotFound => "PersistedQueryNotFound".to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::InvalidTransition { .. } => "INVALID_TRANSITION",
            AppError::DeadlinePassed(_) => "DEADLINE_PASSED",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Replayed { .. } => "CONFLICT",
            AppError::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            AppError::Internal(_) | AppError::Db(_) => "INTERNAL",
        }
    }

    /// Whether the database refused a write because of a unique constraint; callers turn
    /// that into a user error by what they were inserting, never by parsing the message.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, AppError::Db(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
    }

    /// Whether the database refused a write because of one particular unique key. PostgreSQL
    /// names the constraint (`<table>_pkey`, or the index's name); SQLite names the table's
    /// columns (`table.col, table.col`). Both are matched, never anything else of the message.
    pub fn violates(&self, key: &UniqueKey) -> bool {
        let AppError::Db(e) = self else { return false };
        let Some(SqlErr::UniqueConstraintViolation(message)) = e.sql_err() else {
            return false;
        };
        let sqlite = key
            .columns
            .iter()
            .map(|c| format!("{}.{c}", key.table))
            .collect::<Vec<_>>()
            .join(", ");
        message.contains(&format!("\"{}\"", key.name)) || message.ends_with(&sqlite)
    }

    /// Whether the database is out of reach (as opposed to refusing a statement): no
    /// connection to be had, or the connection broke — a failover's administrator shutdown
    /// (SQLSTATE 57P01–57P03) and the connection-exception class (08) included.
    pub fn is_unavailable(&self) -> bool {
        if matches!(
            self,
            AppError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
        ) {
            return true;
        }
        if let Some(state) = self.sqlstate() {
            return state.starts_with("08")
                || matches!(state.as_str(), "57P01" | "57P02" | "57P03");
        }
        matches!(self.sqlx(), Some(e) if matches!(e,
            sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::WorkerCrashed))
    }

    /// Whether the database refused text it cannot store: a NUL character (PostgreSQL's
    /// SQLSTATE 22021). It is the client's input, so BAD_USER_INPUT, never INTERNAL.
    pub fn is_unstorable_text(&self) -> bool {
        self.sqlstate().as_deref() == Some("22021")
    }

    fn sqlx(&self) -> Option<&sea_orm::sqlx::Error> {
        let AppError::Db(DbErr::Exec(e) | DbErr::Query(e) | DbErr::Conn(e)) = self else {
            return None;
        };
        match e {
            sea_orm::RuntimeErr::SqlxError(err) => Some(err.as_ref()),
            _ => None,
        }
    }

    fn sqlstate(&self) -> Option<String> {
        self.sqlx()?
            .as_database_error()?
            .code()
            .map(|c| c.to_string())
    }
}

impl AppError {
    /// The full detail, for an operator at a terminal (never sent to clients).
    pub fn message_for_operator(&self) -> String {
        match self {
            AppError::Internal(detail) => detail.clone(),
            AppError::Db(e) => e.to_string(),
            other => other.message(),
        }
    }
}
