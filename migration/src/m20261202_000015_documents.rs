//! Written documents (domain §8): the numbered notices a decision produces, their delivery,
//! and the query code (查询码) that lets a petitioner without an account follow the case.
//!
//! `documents` rows are written once and never edited but for their delivery: a correction is
//! a new row that supersedes the old one (`supersedes_id`), and the SHA-256 of each row's
//! content is also on the case's hash-chained timeline. `document_number_counters` hands out
//! the numbers per county, year and kind. `case_query_codes` keeps the one code in force
//! per case: its SHA-256 to find it by, and the code to print on the acceptance notice for
//! those who hand it over (the lead unit, the bureau, the petitioner).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("documents")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .col(big_integer("county_id"))
                    .col(string("kind"))
                    .col(string("number"))
                    .col(big_integer("issued_by_unit_id"))
                    .col(big_integer("issued_by_user_id"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .col(big_integer_null("addressee_petitioner_id"))
                    .col(text_null("addressee"))
                    .col(text("body"))
                    .col(text_null("review_clause"))
                    .col(big_integer_null("reply_id"))
                    .col(big_integer_null("review_id"))
                    .col(big_integer_null("supersedes_id"))
                    .col(text_null("correction_reason"))
                    .col(string("sha256"))
                    .col(string_null("delivery_method"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .col(string_null("delivery_tracking"))
                    .col(big_integer_null("delivery_recorded_by_user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("documents", "case_id")
                            .to("cases", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("documents", "issued_by_unit_id")
                            .to("org_units", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("documents", "supersedes_id")
                            .to("documents", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            ("ux_documents_number", vec!["number"], true),
            ("ix_documents_case", vec!["case_id", "id"], false),
            // One correction per document: a second would fork the record.
            ("ux_documents_supersedes", vec!["supersedes_id"], true),
        ] {
            let mut index = Index::create();
            index.name(name).table("documents");
            for c in columns {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("document_number_counters")
                    .col(big_integer("county_id"))
                    .col(integer("year"))
                    .col(string("kind"))
                    .col(big_integer("last_value"))
                    .primary_key(Index::create().col("county_id").col("year").col("kind"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_query_codes")
                    .col(big_integer("case_id").primary_key())
                    .col(string("code_hash").unique_key())
                    .col(string("code"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .col(big_integer("issued_by_user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_query_codes", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "issued documents are part of the record and are not dropped".into(),
        ))
    }
}
