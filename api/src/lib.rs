//! The Xinfang server: a GraphQL API for county petition (信访) case management.
//!
//! Data flows one way: HTTP (`http`) → GraphQL (`graphql`) → domain (`identity`, `cases`,
//! `access`, `audit`, `calendar`) → database (`db`, the `entity` crate).

pub mod access;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod backlog;
pub mod calendar;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod county_calendar;
pub mod db;
pub mod deadlines;
pub mod demo;
pub mod directory;
pub mod documents;
pub mod domain;
pub mod error;
pub mod events;
pub mod export;
pub mod gates;
pub mod graphql;
pub mod hearings;
pub mod higher;
pub mod hotline;
pub mod http;
pub mod identity;
pub mod instructions;
pub mod joint;
pub mod live;
pub mod logging;
pub mod matters;
pub mod metrics;
pub mod notices;
pub mod outbox;
pub mod ownership;
pub mod pdf;
pub mod receptions;
pub mod records;
pub mod referrals;
pub mod replica;
pub mod reviews;
pub mod screening;
pub mod seed;
pub mod seed_practice;
pub mod stat_days;
pub mod state;
pub mod stats;
pub mod storage;
pub mod validate;
pub mod webhooks;
pub mod workflow;
