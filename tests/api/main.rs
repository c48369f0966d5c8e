//! Xinfang's black-box suite: each test starts the real server on a free port with a fresh
//! database (SQLite, or PostgreSQL with `TEST_DATABASE_URL`) and talks to it as a client would.

mod access_matrix;
mod accusations;
mod action_matrix;
mod admin_record;
mod attachments;
mod backlog;
mod cases;
mod directory;
mod documents;
mod fixtures;
mod foundation;
mod graphiql;
mod hardening;
mod hearings;
mod higher_levels;
mod hotline;
mod identity;
mod layering;
mod matters;
mod performance;
mod practice;
mod reception;
mod referrals;
mod replica;
mod statistics;
mod statistics_exact;
mod support;
mod webhooks;
mod workflow;
