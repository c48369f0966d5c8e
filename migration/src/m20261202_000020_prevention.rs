//! Leader reception, dispute screening, joint meetings and registration timeliness (domain
//! §10–§11):
//! - `reception_slots`: a unit's roster — which leader receives petitioners on which weekday
//!   (or date), when and where.
//! - `receptions` and `reception_cases`: a leader's reception, whom it received, and the cases
//!   it produced (registered there) or took over.
//! - `dispute_returns` and `dispute_reports`: a unit's monthly screening return (possibly
//!   with nothing to report) and the risks it reports, monthly or at once when urgent, with the
//!   bureau's follow-up and the case it became.
//! - `joint_meetings`, `joint_items`, `joint_item_units`: the county joint meeting's items,
//!   the units that must act on each by when, and their answers.
//! - `cases.urgent`, `cases.registration_delay_minutes`, `cases.registered_late`: the time
//!   from receipt to registration, and whether an urgent matter or a group visit exceeded the
//!   county's limit. Existing cases are measured from their stored times.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table));
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            boolean("urgent").default(false).to_owned(),
            integer("registration_delay_minutes").default(0).to_owned(),
            boolean("registered_late").default(false).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table("cases")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let minutes = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (created_at - received_at)) / 60))::INTEGER"
            }
            _ => "MAX(0, CAST((julianday(created_at) - julianday(received_at)) * 1440 AS INTEGER))",
        };
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "UPDATE cases SET registration_delay_minutes = {minutes}"
        ))
        .await?;
        db.execute_unprepared(
            "UPDATE cases SET registered_late = is_group AND registration_delay_minutes > 1440",
        )
        .await?;
        manager
            .create_index(index(
                "ix_cases_registered_late",
                "cases",
                &["county_id", "registered_late"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("reception_slots")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("unit_id"))
                    .col(big_integer("leader_user_id"))
                    .col(integer_null("weekday"))
                    .col(string_null("on_date"))
                    .col(string("starts"))
                    .col(string("ends"))
                    .col(text("place"))
                    .col(big_integer("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(boolean("active").default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_reception_slots_unit",
                "reception_slots",
                &["unit_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("receptions")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("unit_id"))
                    .col(big_integer("county_id"))
                    .col(big_integer("leader_user_id"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(text("place"))
                    .col(text("visitors"))
                    .col(integer("person_count"))
                    .col(text("summary"))
                    .col(big_integer("recorded_by_user_id"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_receptions_unit",
                "receptions",
                &["unit_id", "received_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reception_cases")
                    .col(big_integer("reception_id"))
                    .col(big_integer("case_id"))
                    .col(boolean("produced"))
                    .primary_key(Index::create().col("reception_id").col("case_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_reception_cases_case",
                "reception_cases",
                &["case_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("dispute_returns")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("unit_id"))
                    .col(big_integer("county_id"))
                    .col(string("period"))
                    .col(integer("items"))
                    .col(big_integer("submitted_by_user_id"))
                    .col(timestamp_with_time_zone("submitted_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_dispute_returns_unit_period",
                    "dispute_returns",
                    &["unit_id", "period"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("dispute_reports")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("unit_id"))
                    .col(big_integer("county_id"))
                    .col(string_null("period"))
                    .col(boolean("urgent"))
                    .col(string("grade"))
                    .col(text("title"))
                    .col(text("summary"))
                    .col(text("people"))
                    .col(text("places"))
                    .col(big_integer_null("township_id"))
                    .col(big_integer("reported_by_user_id"))
                    .col(timestamp_with_time_zone("reported_at"))
                    .col(text_null("follow_up"))
                    .col(timestamp_with_time_zone_null("followed_up_at"))
                    .col(big_integer_null("followed_up_by_user_id"))
                    .col(big_integer_null("case_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_dispute_reports_county",
                "dispute_reports",
                &["county_id", "reported_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_dispute_reports_unit",
                "dispute_reports",
                &["unit_id", "reported_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("joint_meetings")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("county_id"))
                    .col(string("held_on"))
                    .col(text("title"))
                    .col(big_integer("recorded_by_user_id"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("joint_items")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("meeting_id"))
                    .col(big_integer("county_id"))
                    .col(text("text"))
                    .col(big_integer_null("case_id"))
                    .col(string("due_on"))
                    .col(timestamp_with_time_zone("due_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("joint_items", "meeting_id")
                            .to("joint_meetings", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_joint_items_meeting",
                "joint_items",
                &["meeting_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("joint_item_units")
                    .col(big_integer("item_id"))
                    .col(big_integer("unit_id"))
                    .col(text_null("answer"))
                    .col(timestamp_with_time_zone_null("answered_at"))
                    .col(big_integer_null("answered_by_user_id"))
                    .primary_key(Index::create().col("item_id").col("unit_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("joint_item_units", "item_id")
                            .to("joint_items", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_joint_item_units_unit",
                "joint_item_units",
                &["unit_id"],
            ))
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "receptions, screening and joint meeting records are not dropped".into(),
        ))
    }
}
