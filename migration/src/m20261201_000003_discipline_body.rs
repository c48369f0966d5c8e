//! The county's discipline body (纪委监委): the unit that sees an online accusation before it
//! names an accused unit, and that leads an accusation against the county's own leadership.
//!
//! Marked like the petition bureau: a flag, and a column that equals the county for the one
//! discipline body of a county and is NULL otherwise, so a unique index lets the database
//! itself refuse a second one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("org_units")
                    .add_column(boolean("discipline_body").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("org_units")
                    .add_column(big_integer_null("discipline_of_county_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_org_units_discipline_of_county")
                    .table("org_units")
                    .col("discipline_of_county_id")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_org_units_discipline_of_county")
                    .table("org_units")
                    .to_owned(),
            )
            .await?;
        for column in ["discipline_of_county_id", "discipline_body"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("org_units")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
