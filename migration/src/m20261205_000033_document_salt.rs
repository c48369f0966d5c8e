//! A document's SHA-256 is shown to everyone who sees its case, but on an accusation its
//! addressee (the accuser) is shown only to the lead unit and the bureau. Hashed over content
//! that is otherwise all readable, the digest let any other viewer confirm a guessed name. From
//! now on each document's content carries 128 random bits (`salt`), kept here and never shown,
//! so the digest still vouches for the content and no longer answers guesses. Documents issued
//! before keep their unsalted digests: the hash-chained timeline already vouches for them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Documents {
    Table,
    Salt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Documents::Table)
                    .add_column(ColumnDef::new(Documents::Salt).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Documents::Table)
                    .drop_column(Documents::Salt)
                    .to_owned(),
            )
            .await
    }
}
