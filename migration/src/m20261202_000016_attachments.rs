//! Attachments (材料, domain §8): files attached to a case, and the resumable uploads they
//! arrive by. The bytes live in the object store (a local directory or S3-compatible
//! storage); these tables hold what the record needs: who attached what, its SHA-256, and a
//! withdrawal (never a deletion) with its reason.
//!
//! `uploads` is one resumable upload: the declared size, the bytes received so far (the
//! offset a client resumes from), and the attachment it became, which makes attaching it
//! again answer the same attachment.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .col(pk_auto("id").big_integer())
                    .col(big_integer("case_id"))
                    .col(string("kind"))
                    .col(string("file_name"))
                    .col(string("content_type"))
                    .col(big_integer("size"))
                    .col(string("sha256"))
                    .col(string("received_sha256"))
                    .col(text_null("description"))
                    .col(string("storage_key"))
                    .col(big_integer("uploaded_by_user_id"))
                    .col(big_integer_null("uploaded_by_unit_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("withdrawn_at"))
                    .col(big_integer_null("withdrawn_by_user_id"))
                    .col(text_null("withdraw_reason"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("attachments", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_attachments_case")
                    .table("attachments")
                    .col("case_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("uploads")
                    .col(string("id").primary_key())
                    .col(big_integer("case_id"))
                    .col(big_integer("user_id"))
                    .col(string("file_name"))
                    .col(big_integer("size"))
                    .col(string_null("sha256"))
                    .col(big_integer("received"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(big_integer_null("attachment_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("uploads", "case_id")
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
            "attachments are part of the record and are not dropped".into(),
        ))
    }
}
