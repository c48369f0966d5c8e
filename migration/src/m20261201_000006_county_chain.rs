//! The county chain and signed checkpoints.
//!
//! A case's own chain proves its entries were not changed, but not that whole cases or the
//! newest entries were not removed: cut from the end, a chain still links. So every entry of
//! a county is linked a second time, in one sequence for the county (`county_chain`), and the
//! heads of all chains are signed now and then with a key the database does not hold
//! (`audit_checkpoints`, also written to the log and, if configured, to a file).
//!
//! Databases that already hold entries get them chained here, in the order they were
//! written. Both tables are append-only, like the timeline itself.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DatabaseBackend, Statement},
};
use sha2::{Digest, Sha256};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The hash of one link of a county chain. It covers the entry's own hash, which covers the
/// entry's content. The server appends with this same function (`audit::append`).
pub fn county_link_hash(
    prev: &str,
    county_id: i64,
    seq: i64,
    case_id: i64,
    case_seq: i32,
    entry_hash: &str,
) -> String {
    let content = format!("{prev}\n{county_id}\n{seq}\n{case_id}\n{case_seq}\n{entry_hash}");
    hex::encode(Sha256::digest(content.as_bytes()))
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

async fn append_only(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION '{table} is append-only'; END $$;"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_append_only();"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only();"
            ))
            .await?;
        }
        _ => {
            for (what, verb) in [("no_update", "UPDATE"), ("no_delete", "DELETE")] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_{what} BEFORE {verb} ON {table} \
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
                ))
                .await?;
            }
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("county_chain")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("county_id"))
                    .col(big_integer("seq"))
                    .col(big_integer("case_id"))
                    .col(integer("case_seq"))
                    .col(string("entry_hash"))
                    .col(string("prev_hash"))
                    .col(string("hash"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("county_chain_county_seq")
                    .table("county_chain")
                    .col("county_id")
                    .col("seq")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("county_chain_entry")
                    .table("county_chain")
                    .col("case_id")
                    .col("case_seq")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_checkpoints")
                    .col(pk_auto("id").big_integer())
                    .col(timestamp_with_time_zone("at"))
                    .col(text("statement"))
                    .col(string("signature"))
                    .col(string("public_key"))
                    .to_owned(),
            )
            .await?;
        append_only(manager, "county_chain").await?;
        append_only(manager, "audit_checkpoints").await?;

        // Chain what is already there, county by county, in the order it was written. On
        // PostgreSQL a server still running the previous version could append meanwhile, and
        // its entries would never be linked: the timeline takes no writes until this commits.
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        if backend == DatabaseBackend::Postgres {
            db.execute_unprepared("LOCK TABLE case_events IN SHARE MODE")
                .await?;
        }
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT c.county_id, e.case_id, e.seq, e.hash FROM case_events e \
                 JOIN cases c ON c.id = e.case_id ORDER BY e.id",
            ))
            .await?;
        let mut heads: std::collections::HashMap<i64, (i64, String)> = Default::default();
        let mut values: Vec<Vec<sea_orm_migration::sea_orm::Value>> = vec![];
        for row in rows {
            let county_id: i64 = row.try_get_by_index(0)?;
            let case_id: i64 = row.try_get_by_index(1)?;
            let case_seq: i32 = row.try_get_by_index(2)?;
            let entry_hash: String = row.try_get_by_index(3)?;
            let head = heads
                .entry(county_id)
                .or_insert_with(|| (0, GENESIS.to_string()));
            let seq = head.0 + 1;
            let hash = county_link_hash(&head.1, county_id, seq, case_id, case_seq, &entry_hash);
            values.push(vec![
                county_id.into(),
                seq.into(),
                case_id.into(),
                case_seq.into(),
                entry_hash.into(),
                head.1.clone().into(),
                hash.clone().into(),
            ]);
            *head = (seq, hash);
        }
        for chunk in values.chunks(500) {
            let mut insert = Query::insert();
            insert.into_table("county_chain").columns([
                "county_id",
                "seq",
                "case_id",
                "case_seq",
                "entry_hash",
                "prev_hash",
                "hash",
            ]);
            for row in chunk {
                insert.values_panic(row.iter().cloned().map(SimpleExpr::from));
            }
            manager.exec_stmt(insert).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        // The tables and the chaining of what is already there land together or not at all.
        Some(true)
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("the county chain is not removed".into()))
    }
}
