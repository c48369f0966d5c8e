//! SeaORM entities of Xinfang: one module per table and nothing else. Enumerated columns are
//! plain strings here; their meaning (and the GraphQL enums) live in the `api` crate, so this
//! crate knows neither rules nor GraphQL.

pub mod admin_event;
pub mod attachment;
pub mod audit_checkpoint;
pub mod backlog_campaign;
pub mod backlog_entry;
pub mod calendar_day;
pub mod case;
pub mod case_event;
pub mod case_number_counter;
pub mod case_petitioner;
pub mod case_query_code;
pub mod case_unit;
pub mod completion_report;
pub mod county_chain;
pub mod county_setting;
pub mod deadline_notice;
pub mod document;
pub mod evaluation;
pub mod extension;
pub mod hearing;
pub mod higher_body;
pub mod higher_referral;
pub mod idempotency_key;
pub mod instruction;
pub mod kinds;
pub mod matter;
pub mod org_unit;
pub mod ownership_plan;
pub mod ownership_progress;
pub mod rate_limit;
pub mod referral;
pub mod refresh_token;
pub mod repeat_link;
pub mod reply;
pub mod review;
pub mod session;
pub mod subject;
pub mod supervision;
pub mod upload;
pub mod user;
