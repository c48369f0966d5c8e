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

pub use m20261201_000006_county_chain::{GENESIS, county_link_hash};

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
        ]
    }
}
