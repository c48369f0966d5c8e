//! Per-request DataLoaders, so nested fields cost one query per kind, not one per row.

use crate::error::AppError;
use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use xinfang_entity::org_unit;

pub struct UnitLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for UnitLoader {
    type Value = org_unit::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = org_unit::Entity::find()
            .filter(org_unit::Column::Id.is_in(keys.to_vec()))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub units: DataLoader<UnitLoader>,
}

impl Loaders {
    pub fn new(db: DatabaseConnection) -> Self {
        // A short delay is enough to gather the keys of one level of a response; the default
        // (1 ms) would dominate a fast request.
        Loaders {
            units: DataLoader::new(UnitLoader { db }, tokio::spawn)
                .delay(Duration::from_micros(50)),
        }
    }
}
