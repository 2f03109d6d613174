//! Per-request batch loaders, so nested fields cost one query per level, not per row.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::organizations;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Organizations by id (public profiles: no visibility filter needed).
pub struct OrganizationLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for OrganizationLoader {
    type Value = organizations::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = organizations::Entity::find()
            .filter(organizations::Column::Id.is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|o| (o.id, o)).collect())
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub organizations: DataLoader<OrganizationLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        Loaders {
            organizations: DataLoader::new(OrganizationLoader { db: db.clone() }, tokio::spawn),
        }
    }
}
