//! `org_units`: the tree of units (city, county, township, department).
use crate::kinds::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_units")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// CITY, COUNTY, TOWNSHIP or DEPARTMENT.
    pub kind: OrgUnitKind,
    pub parent_id: Option<i64>,
    /// The county this unit belongs to (a county unit points at itself; a city at nothing).
    pub county_id: Option<i64>,
    pub petition_bureau: bool,
    /// Equals `county_id` for a petition bureau and is NULL otherwise; a unique index on it
    /// lets the database itself refuse a second bureau in one county.
    pub bureau_of_county_id: Option<i64>,
    /// 纪委监委 — the county's discipline body (one per county).
    pub discipline_body: bool,
    /// Equals `county_id` for the discipline body and is NULL otherwise (unique, as above).
    pub discipline_of_county_id: Option<i64>,
    /// Materialized path of ids from the root, e.g. `/1/4/`; subtree tests are prefix tests.
    pub path: String,
    /// A county's administrative division code (行政区划代码, 6 digits); case numbers carry
    /// it. Unique where given.
    pub division_code: Option<String>,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
