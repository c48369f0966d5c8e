//! The first schema: units, accounts, sessions, cases, their relations and the timeline.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Default policy areas (信访事项内容分类); administrators may extend the list.
const SUBJECTS: &[(&str, &str)] = &[
    ("LAND_EXPROPRIATION", "土地征收"),
    ("HOUSING_DEMOLITION", "房屋拆迁"),
    ("LABOR_SOCIAL_SECURITY", "劳动社保"),
    ("MIGRANT_WORKER_WAGES", "农民工工资"),
    ("ENVIRONMENT", "环境保护"),
    ("ENTERPRISE_RESTRUCTURING", "企业改制"),
    ("EDUCATION", "教育"),
    ("HEALTHCARE", "医疗"),
    ("OFFICIAL_CONDUCT", "干部作风"),
    ("OTHER", "其他"),
];

fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("org_units")
                    .col(big_pk_auto("id"))
                    .col(string("name"))
                    .col(string("kind"))
                    .col(big_integer_null("parent_id"))
                    .col(big_integer_null("county_id"))
                    .col(boolean("petition_bureau"))
                    .col(big_integer_null("bureau_of_county_id"))
                    .col(string("path"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("org_units", "parent_id")
                            .to("org_units", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // One petition bureau per county, enforced by the database: NULLs are distinct.
        manager
            .create_index(
                index("ux_org_units_bureau", "org_units", &["bureau_of_county_id"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_org_units_parent", "org_units", &["parent_id"]))
            .await?;
        manager
            .create_index(index("ix_org_units_path", "org_units", &["path"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(big_pk_auto("id"))
                    .col(string("username"))
                    .col(string_uniq("username_key"))
                    .col(string("display_name"))
                    .col(string("role"))
                    .col(big_integer_null("org_unit_id"))
                    .col(string("password_hash"))
                    .col(boolean("active"))
                    .col(string_null("phone"))
                    .col(string_null("id_number").unique_key())
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("users", "org_unit_id")
                            .to("org_units", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_users_org_unit", "users", &["org_unit_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .col(string("id").primary_key())
                    .col(big_integer("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_used_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(string_null("revoked_reason"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sessions", "user_id")
                            .to("users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_sessions_user", "sessions", &["user_id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .col(string("token_hash").primary_key())
                    .col(string("session_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("spent_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("refresh_tokens", "session_id")
                            .to("sessions", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_refresh_tokens_session",
                "refresh_tokens",
                &["session_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("rate_limits")
                    .col(string("bucket").primary_key())
                    .col(timestamp_with_time_zone("window_start"))
                    .col(integer("hits"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("subjects")
                    .col(string("code").primary_key())
                    .col(string("name"))
                    .col(boolean("active"))
                    .col(integer("sort_order"))
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert
            .into_table("subjects")
            .columns(["code", "name", "active", "sort_order"]);
        for (i, (code, name)) in SUBJECTS.iter().enumerate() {
            insert.values_panic([
                (*code).into(),
                (*name).into(),
                true.into(),
                (i as i32).into(),
            ]);
        }
        manager.exec_stmt(insert).await?;

        manager
            .create_table(
                Table::create()
                    .table("cases")
                    .col(big_pk_auto("id"))
                    .col(big_integer("county_id"))
                    .col(string_uniq("number"))
                    .col(integer("version"))
                    .col(string("status"))
                    .col(string("channel"))
                    .col(string("category"))
                    .col(string("subject"))
                    .col(string("title"))
                    .col(text("content"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(big_integer_null("township_id"))
                    .col(big_integer("lead_unit_id"))
                    .col(big_integer("registered_by_unit_id"))
                    .col(big_integer("registered_by_user_id"))
                    .col(big_integer_null("accused_unit_id"))
                    .col(integer("person_count"))
                    .col(boolean("is_group"))
                    .col(big_integer_null("repeat_of_id"))
                    .col(boolean("not_acceptable"))
                    .col(big_integer_null("submitted_by_user_id"))
                    .col(timestamp_with_time_zone_null("accept_by"))
                    .col(timestamp_with_time_zone_null("handle_by"))
                    .col(timestamp_with_time_zone_null("due_at"))
                    .col(string_null("acceptance_decision"))
                    .col(text_null("acceptance_reason"))
                    .col(string_null("legal_route"))
                    .col(timestamp_with_time_zone_null("accept_decided_at"))
                    .col(timestamp_with_time_zone_null("replied_at"))
                    .col(timestamp_with_time_zone_null("review_request_by"))
                    .col(timestamp_with_time_zone_null("decide_by"))
                    .col(big_integer_null("reviewing_unit_id"))
                    .col(integer("extension_days").default(0))
                    .col(big_integer_null("leader_user_id"))
                    .col(big_integer_null("assignment_id"))
                    .col(boolean("report_approved").default(false))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("cases", "county_id")
                            .to("org_units", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("cases", "lead_unit_id")
                            .to("org_units", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("cases", "registered_by_unit_id")
                            .to("org_units", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("cases", "registered_by_user_id")
                            .to("users", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("cases", "township_id")
                            .to("org_units", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("cases", "accused_unit_id")
                            .to("org_units", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("cases", "repeat_of_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_cases_county_received",
                "cases",
                &["county_id", "received_at", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_cases_county_updated",
                "cases",
                &["county_id", "updated_at", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_cases_county_due",
                "cases",
                &["county_id", "due_at", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_cases_lead",
                "cases",
                &["lead_unit_id", "received_at"],
            ))
            .await?;
        manager
            .create_index(index("ix_cases_repeat_of", "cases", &["repeat_of_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("case_petitioners")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id"))
                    .col(integer("position"))
                    .col(string("name"))
                    .col(string_null("id_number"))
                    .col(string_null("phone"))
                    .col(string_null("address"))
                    .col(boolean("representative"))
                    .col(big_integer_null("user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_petitioners", "case_id")
                            .to("cases", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_petitioners", "user_id")
                            .to("users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_case_petitioners_case",
                "case_petitioners",
                &["case_id", "position"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_case_petitioners_id_number",
                "case_petitioners",
                &["id_number"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_case_petitioners_user",
                "case_petitioners",
                &["user_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("case_units")
                    .col(big_integer("case_id"))
                    .col(big_integer("unit_id"))
                    .col(string("relation"))
                    .col(timestamp_with_time_zone("received_at"))
                    .primary_key(
                        Index::create()
                            .col("case_id")
                            .col("unit_id")
                            .col("relation"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_units", "case_id")
                            .to("cases", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_units", "unit_id")
                            .to("org_units", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_case_units_unit",
                "case_units",
                &["unit_id", "received_at", "case_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("case_number_counters")
                    .col(big_integer("county_id"))
                    .col(integer("year"))
                    .col(big_integer("last_value"))
                    .primary_key(Index::create().col("county_id").col("year"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(big_integer("user_id"))
                    .col(string("key"))
                    .col(string("operation"))
                    .col(string("request_hash"))
                    .col(big_integer("case_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("user_id").col("key"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_events")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id"))
                    .col(integer("seq"))
                    .col(timestamp_with_time_zone("at"))
                    .col(big_integer_null("actor_user_id"))
                    .col(big_integer_null("actor_unit_id"))
                    .col(string("action"))
                    .col(text("detail"))
                    .col(boolean("public"))
                    .col(string("prev_hash"))
                    .col(string("hash"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_events", "case_id")
                            .to("cases", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_case_events_case_seq",
                    "case_events",
                    &["case_id", "seq"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        // The workflow's records: each hangs off a case and is written only inside that case's
        // transaction, together with its timeline entry.
        let fk = |table: &'static str, col: &'static str, to: &'static str| {
            ForeignKey::create()
                .from(table, col)
                .to(to, "id")
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table("referrals")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id"))
                    .col(string("mode"))
                    .col(big_integer("from_unit_id"))
                    .col(big_integer("to_unit_id"))
                    .col(text("reason"))
                    .col(timestamp_with_time_zone_null("report_due_at"))
                    .col(string("status"))
                    .col(timestamp_with_time_zone("object_by"))
                    .col(text_null("objection_reason"))
                    .col(big_integer("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(big_integer_null("resolved_by_user_id"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .col(text_null("resolution_note"))
                    .foreign_key(&mut fk("referrals", "case_id", "cases"))
                    .foreign_key(&mut fk("referrals", "from_unit_id", "org_units"))
                    .foreign_key(&mut fk("referrals", "to_unit_id", "org_units"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_referrals_case", "referrals", &["case_id", "id"]))
            .await?;
        manager
            .create_index(index(
                "ix_referrals_from",
                "referrals",
                &["from_unit_id", "created_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_referrals_to",
                "referrals",
                &["to_unit_id", "created_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("extensions")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id"))
                    .col(integer("days"))
                    .col(text("reason"))
                    .col(string("status"))
                    .col(big_integer("requested_by_user_id"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(big_integer_null("decided_by_user_id"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(text_null("note"))
                    .foreign_key(&mut fk("extensions", "case_id", "cases"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_extensions_case", "extensions", &["case_id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("replies")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id").unique_key())
                    .col(string("outcome"))
                    .col(text("facts"))
                    .col(text("reasons"))
                    .col(text("basis"))
                    .col(big_integer("signed_by_user_id"))
                    .col(big_integer("unit_id"))
                    .col(big_integer_null("review_unit_id"))
                    .col(timestamp_with_time_zone("review_request_by"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .foreign_key(&mut fk("replies", "case_id", "cases"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("evaluations")
                    .col(big_integer("case_id").primary_key())
                    .col(string("satisfaction"))
                    .col(text_null("comment"))
                    .col(boolean("on_behalf"))
                    .col(big_integer("by_user_id"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(&mut fk("evaluations", "case_id", "cases"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reviews")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id"))
                    .col(string("stage"))
                    .col(text("reason"))
                    .col(big_integer("requested_by_user_id"))
                    .col(boolean("on_behalf"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(big_integer("reviewing_unit_id"))
                    .col(timestamp_with_time_zone("decide_by"))
                    .col(string_null("decision"))
                    .col(text_null("text"))
                    .col(big_integer_null("decided_by_user_id"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .foreign_key(&mut fk("reviews", "case_id", "cases"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_reviews_case", "reviews", &["case_id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("supervisions")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id"))
                    .col(text("text"))
                    .col(timestamp_with_time_zone("due_at"))
                    .col(big_integer("issued_by_user_id"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .col(text_null("answer"))
                    .col(big_integer_null("answered_by_user_id"))
                    .col(timestamp_with_time_zone_null("answered_at"))
                    .foreign_key(&mut fk("supervisions", "case_id", "cases"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_supervisions_case", "supervisions", &["case_id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("completion_reports")
                    .col(big_pk_auto("id"))
                    .col(big_integer("case_id"))
                    .col(big_integer("referral_id"))
                    .col(text("text"))
                    .col(big_integer("filed_by_user_id"))
                    .col(timestamp_with_time_zone("filed_at"))
                    .col(string("status"))
                    .col(big_integer_null("decided_by_user_id"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(text_null("note"))
                    .foreign_key(&mut fk("completion_reports", "case_id", "cases"))
                    .foreign_key(&mut fk("completion_reports", "referral_id", "referrals"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_completion_reports_case",
                "completion_reports",
                &["case_id"],
            ))
            .await?;
        // One row per deadline notice sent (case, deadline, due instant, level): inserting it
        // is what claims the right to publish, so each notice goes out once, across restarts
        // and across server processes.
        manager
            .create_table(
                Table::create()
                    .table("deadline_notices")
                    .col(big_integer("case_id"))
                    .col(string("deadline"))
                    .col(timestamp_with_time_zone("due_at"))
                    .col(string("level"))
                    .col(timestamp_with_time_zone("sent_at"))
                    .primary_key(
                        Index::create()
                            .col("case_id")
                            .col("deadline")
                            .col("due_at")
                            .col("level"),
                    )
                    .foreign_key(&mut fk("deadline_notices", "case_id", "cases"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("calendar_days")
                    .col(big_integer("county_id"))
                    .col(string("day"))
                    .col(boolean("working"))
                    .col(string("note"))
                    .primary_key(Index::create().col("county_id").col("day"))
                    .to_owned(),
            )
            .await?;

        // The timeline is append-only. Both databases refuse UPDATE and DELETE on it; an
        // operator who bypasses this (dropping the trigger) is what `audit verify` catches.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'case_events is append-only'; END $$;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events \
                     FOR EACH ROW EXECUTE FUNCTION case_events_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events \
                     BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events \
                     BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the initial schema is not reversible".into(),
        ))
    }
}
