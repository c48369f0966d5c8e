//! `audit_checkpoints`: the heads of every chain, signed with a key the database does not
//! hold. The same statements go to the log (and a file, if configured), outside the database.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// The signed JSON text, byte for byte.
    pub statement: String,
    /// Ed25519 signature of `statement`, base64.
    pub signature: String,
    /// The Ed25519 public key that verifies it, base64.
    pub public_key: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
