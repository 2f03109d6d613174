//! Per-request batch loaders, so nested fields cost one query per level, not per row:
//! a page of opportunities with customers, teams, solutions, participants and
//! invitations costs a fixed number of statements whatever its size.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    customers, engagements, invitations, opportunities, organizations, solutions, team_members,
    users,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::store::deals as store;

pub type LoadError = Arc<DbErr>;

/// Loads whole rows by primary key.
macro_rules! by_id_loader {
    ($name:ident, $module:ident) => {
        pub struct $name {
            pub db: DatabaseConnection,
        }

        impl Loader<Uuid> for $name {
            type Value = $module::Model;
            type Error = LoadError;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $module::Entity::find()
                    .filter($module::Column::Id.is_in(keys.iter().copied()))
                    .all(&self.db)
                    .await
                    .map_err(Arc::new)?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

by_id_loader!(OrganizationLoader, organizations);
by_id_loader!(CustomerLoader, customers);
by_id_loader!(EngagementLoader, engagements);
by_id_loader!(UserLoader, users);
by_id_loader!(SolutionLoader, solutions);

fn group<T>(keys: &[Uuid], rows: impl IntoIterator<Item = (Uuid, T)>) -> HashMap<Uuid, Vec<T>> {
    let mut out: HashMap<Uuid, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (k, v) in rows {
        out.entry(k).or_default().push(v);
    }
    out
}

/// Team members by opportunity, in team order.
pub struct TeamLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for TeamLoader {
    type Value = Vec<team_members::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::teams(&self.db, keys).await.map_err(Arc::new)?;
        Ok(group(keys, rows.into_iter().map(|m| (m.opportunity_id, m))))
    }
}

/// Solutions by opportunity.
pub struct OpportunitySolutionsLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for OpportunitySolutionsLoader {
    type Value = Vec<solutions::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::solutions_of(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(group(keys, rows))
    }
}

/// Every opportunity of an engagement (its participants), by engagement.
pub struct ParticipantsLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for ParticipantsLoader {
    type Value = Vec<opportunities::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::opportunities_of_engagements(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(group(keys, rows.into_iter().map(|o| (o.engagement_id, o))))
    }
}

/// Invitations by engagement.
pub struct InvitationsLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for InvitationsLoader {
    type Value = Vec<invitations::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::invitations_of(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(group(keys, rows.into_iter().map(|i| (i.engagement_id, i))))
    }
}

/// Whether an opportunity is one of the user's favorites, by (user, opportunity).
pub struct FavoriteLoader {
    pub db: DatabaseConnection,
}

impl Loader<(Uuid, Uuid)> for FavoriteLoader {
    type Value = bool;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        let mut users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        users.sort();
        users.dedup();
        for user in users {
            let opps: Vec<Uuid> = keys.iter().filter(|k| k.0 == user).map(|k| k.1).collect();
            let favs = store::favorites_of(&self.db, user, &opps)
                .await
                .map_err(Arc::new)?;
            for o in opps {
                out.insert((user, o), favs.contains(&o));
            }
        }
        Ok(out)
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub organizations: DataLoader<OrganizationLoader>,
    pub customers: DataLoader<CustomerLoader>,
    pub engagements: DataLoader<EngagementLoader>,
    pub users: DataLoader<UserLoader>,
    pub solutions: DataLoader<SolutionLoader>,
    pub teams: DataLoader<TeamLoader>,
    pub opportunity_solutions: DataLoader<OpportunitySolutionsLoader>,
    pub participants: DataLoader<ParticipantsLoader>,
    pub invitations: DataLoader<InvitationsLoader>,
    pub favorites: DataLoader<FavoriteLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        let d = || db.clone();
        Loaders {
            organizations: DataLoader::new(OrganizationLoader { db: d() }, tokio::spawn),
            customers: DataLoader::new(CustomerLoader { db: d() }, tokio::spawn),
            engagements: DataLoader::new(EngagementLoader { db: d() }, tokio::spawn),
            users: DataLoader::new(UserLoader { db: d() }, tokio::spawn),
            solutions: DataLoader::new(SolutionLoader { db: d() }, tokio::spawn),
            teams: DataLoader::new(TeamLoader { db: d() }, tokio::spawn),
            opportunity_solutions: DataLoader::new(
                OpportunitySolutionsLoader { db: d() },
                tokio::spawn,
            ),
            participants: DataLoader::new(ParticipantsLoader { db: d() }, tokio::spawn),
            invitations: DataLoader::new(InvitationsLoader { db: d() }, tokio::spawn),
            favorites: DataLoader::new(FavoriteLoader { db: d() }, tokio::spawn),
        }
    }
}

/// Runs a loader call, turning its error into an internal error with a code.
pub async fn load<K, L>(loader: &DataLoader<L>, key: K) -> async_graphql::Result<Option<L::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K, Error = LoadError>,
{
    loader.load_one(key).await.map_err(|e| {
        crate::error::AppError::Internal(anyhow::anyhow!(e.to_string())).into_graphql()
    })
}
