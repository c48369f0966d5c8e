//! Petitioners may be organisations, and a group petition is a group *visit*.
//!
//! `case_petitioners` gains the petitioner's kind (a person unless said otherwise), an
//! organisation's unified social credit code and its contact person. `cases.is_group` meant
//! "5 or more people on any channel"; a 集体访 is a visit, so cases on other channels (a joint
//! letter, say) are no longer counted as one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns: [ColumnDef; 3] = [
            string("kind").default("PERSON").to_owned(),
            string_null("credit_code"),
            string_null("contact_person"),
        ];
        for mut column in columns {
            // One column per statement: SQLite adds one at a time.
            manager
                .alter_table(
                    Table::alter()
                        .table("case_petitioners")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE cases SET is_group = (channel = 'VISIT' AND person_count >= 5)",
            )
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "organisations and group visits are not taken back".into(),
        ))
    }
}
