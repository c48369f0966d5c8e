//! Schema migrations, applied at start-up (`xinfang serve`) and by `xinfang migrate`.
//! Each migration works on SQLite and PostgreSQL; where they differ, the branch is explicit.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_case_sight;
mod m20261201_000003_discipline_body;
mod m20261201_000004_admin_events;
mod m20261201_000005_no_truncate;
mod m20261201_000006_county_chain;
mod m20261201_000007_idempotent_records;
mod m20261201_000008_id_number_not_unique;
mod m20261201_000009_group_visits_and_organisations;
mod m20261201_000010_matters;
mod m20261201_000011_referral_clocks;
mod m20261201_000012_county_codes;
mod m20261201_000013_review_chain;
mod m20261201_000014_higher_referrals;
mod m20261202_000015_documents;
mod m20261202_000016_attachments;
mod m20261202_000017_instructions;
mod m20261202_000018_hearings;
mod m20261202_000019_ownership_plans;
mod m20261202_000020_prevention;
mod m20261202_000021_hotline_tickets;
mod m20261202_000022_webhooks;
mod m20261202_000023_directory_notices;
mod m20261202_000024_scanner_indexes;
mod m20261202_000025_chain_pending;
mod m20261203_000026_statistics_days;
mod m20261204_000027_cheaper_stat_marks;
mod m20261204_000028_statistics_scopes;
mod m20261204_000029_reference_notices;
mod m20261204_000030_statistics_fold_leases;
mod m20261205_000031_statistics_sight_marks;
mod m20261205_000032_stat_day_lapses;
mod m20261205_000033_document_salt;

pub use m20261201_000006_county_chain::{GENESIS, county_link_hash};

use sea_orm_migration::sea_orm::{DatabaseBackend, Statement};

/// SQLite: the connection's `foreign_keys` setting (1 when unknown), to put back after a
/// table rebuild that switched it off.
pub(crate) async fn sqlite_foreign_keys(
    db: &impl sea_orm_migration::sea_orm::ConnectionTrait,
) -> Result<i32, DbErr> {
    Ok(db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "PRAGMA foreign_keys",
        ))
        .await?
        .map(|row| row.try_get_by_index(0))
        .transpose()?
        .unwrap_or(1))
}

/// SQLite, after rebuilding `table` with foreign keys off: refuses when rows refer to or
/// from it that do not resolve. Violations elsewhere (older than the rebuild) are not the
/// rebuild's to refuse.
pub(crate) async fn sqlite_check_rebuilt(
    db: &impl sea_orm_migration::sea_orm::ConnectionTrait,
    table: &str,
) -> Result<(), DbErr> {
    let mut broken = 0;
    for row in db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await?
    {
        let child: String = row.try_get_by_index(0)?;
        let parent: String = row.try_get_by_index(2)?;
        if child == table || parent == table {
            broken += 1;
        }
    }
    if broken > 0 {
        return Err(DbErr::Migration(format!(
            "{broken} rows refer to missing rows after rebuilding {table}"
        )));
    }
    Ok(())
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_case_sight::Migration),
            Box::new(m20261201_000003_discipline_body::Migration),
            Box::new(m20261201_000004_admin_events::Migration),
            Box::new(m20261201_000005_no_truncate::Migration),
            Box::new(m20261201_000006_county_chain::Migration),
            Box::new(m20261201_000007_idempotent_records::Migration),
            Box::new(m20261201_000008_id_number_not_unique::Migration),
            Box::new(m20261201_000009_group_visits_and_organisations::Migration),
            Box::new(m20261201_000010_matters::Migration),
            Box::new(m20261201_000011_referral_clocks::Migration),
            Box::new(m20261201_000012_county_codes::Migration),
            Box::new(m20261201_000013_review_chain::Migration),
            Box::new(m20261201_000014_higher_referrals::Migration),
            Box::new(m20261202_000015_documents::Migration),
            Box::new(m20261202_000016_attachments::Migration),
            Box::new(m20261202_000017_instructions::Migration),
            Box::new(m20261202_000018_hearings::Migration),
            Box::new(m20261202_000019_ownership_plans::Migration),
            Box::new(m20261202_000020_prevention::Migration),
            Box::new(m20261202_000021_hotline_tickets::Migration),
            Box::new(m20261202_000022_webhooks::Migration),
            Box::new(m20261202_000023_directory_notices::Migration),
            Box::new(m20261202_000024_scanner_indexes::Migration),
            Box::new(m20261202_000025_chain_pending::Migration),
            Box::new(m20261203_000026_statistics_days::Migration),
            Box::new(m20261204_000027_cheaper_stat_marks::Migration),
            Box::new(m20261204_000028_statistics_scopes::Migration),
            Box::new(m20261204_000029_reference_notices::Migration),
            Box::new(m20261204_000030_statistics_fold_leases::Migration),
            Box::new(m20261205_000031_statistics_sight_marks::Migration),
            Box::new(m20261205_000032_stat_day_lapses::Migration),
            Box::new(m20261205_000033_document_salt::Migration),
        ]
    }
}
