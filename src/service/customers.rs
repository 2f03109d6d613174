//! Customers: the picker search and creating one the search did not find.
use chrono::Utc;
use entity::customers;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use uuid::Uuid;

use super::{Checks, path};
use crate::db::begin_write;
use crate::domain::Viewer;
use crate::domain::text::normalize;
use crate::domain::values::{CountryCode, Duns, Name, Website, optional_name};
use crate::error::{AppError, UserError, UserErrorCode};
use crate::store::customers::{self as store, CustomerFilter, city_key};
use crate::store::search::TextQuery;
use crate::store::{Page, PageArgs};

/// A new customer as the client sends it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NewCustomer {
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub duns: Option<String>,
    pub website: Option<String>,
}

/// Customers are shared reference data: every signed-in user may search and read them.
pub async fn search(
    db: &DatabaseConnection,
    search: Option<&str>,
    country: Option<&str>,
    city: Option<&str>,
    args: &PageArgs,
) -> Result<Page<customers::Model>, AppError> {
    let country = match country.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(
            CountryCode::parse(c)
                .map_err(|why| UserError::invalid(&["country"], why))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let filter = CustomerFilter {
        text: TextQuery::parse(search),
        country,
        city_norm: city.map(city_key).filter(|c| !c.is_empty()),
    };
    Ok(store::search(db, &filter, args).await?)
}

pub async fn get(db: &DatabaseConnection, id: Uuid) -> Result<Option<customers::Model>, AppError> {
    Ok(customers::Entity::find_by_id(id).one(db).await?)
}

/// Checks every field of a new customer (errors under `at`); the row to insert.
pub fn check_new(
    c: &mut Checks,
    at: &[String],
    input: &NewCustomer,
    organization: Uuid,
) -> Option<customers::Model> {
    let name = c.take_at(path(at, &["name"]), Name::parse(&input.name));
    let line1 = c.take_at(
        path(at, &["addressLine1"]),
        Name::parse(&input.address_line1),
    );
    let line2 = c.take_at(
        path(at, &["addressLine2"]),
        optional_name(input.address_line2.as_deref()),
    );
    let city = c.take_at(path(at, &["city"]), Name::parse(&input.city));
    let region = c.take_at(
        path(at, &["region"]),
        optional_name(input.region.as_deref()),
    );
    let postal = c.take_at(
        path(at, &["postalCode"]),
        optional_name(input.postal_code.as_deref()),
    );
    let country = c.take_at(path(at, &["country"]), CountryCode::parse(&input.country));
    let duns = match input
        .duns
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => c.take_at(path(at, &["duns"]), Duns::parse(d)).map(Some),
        None => Some(None),
    };
    let website = match input
        .website
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(w) => c
            .take_at(path(at, &["website"]), Website::parse(w))
            .map(Some),
        None => Some(None),
    };
    let (name, city) = (name?, city?);
    Some(customers::Model {
        id: Uuid::now_v7(),
        name_norm: normalize(name.as_str()),
        name: name.into_inner(),
        address_line1: line1?.into_inner(),
        address_line2: line2?.map(Name::into_inner),
        city_norm: normalize(city.as_str()),
        city: city.into_inner(),
        region: region?.map(Name::into_inner),
        postal_code: postal?.map(Name::into_inner),
        country: country?.as_str().to_owned(),
        duns: duns?.map(|d| d.as_str().to_owned()),
        website: website?.map(|w| w.as_str().to_owned()),
        created_by_organization_id: Some(organization),
        created_at: Utc::now(),
    })
}

/// Inserts a checked customer inside `txn`. A D-U-N-S number already on file is refused:
/// it names exactly one legal entity, which the picker already finds.
pub async fn insert_checked<C: ConnectionTrait>(
    txn: &C,
    row: customers::Model,
    at: &[String],
) -> Result<(), AppError> {
    if let Some(d) = &row.duns
        && store::find_by_duns(txn, d).await?.is_some()
    {
        return Err(UserError::at(
            UserErrorCode::BadUserInput,
            format!("a customer with D-U-N-S {d} already exists"),
            path(at, &["duns"]),
        )
        .into());
    }
    store::insert(txn, row).await?;
    Ok(())
}

/// Checks every field of `input` and creates the customer.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewCustomer,
) -> Result<customers::Model, AppError> {
    let at = vec!["input".to_owned()];
    let mut checks = Checks::default();
    let row = check_new(&mut checks, &at, &input, viewer.organization_id);
    checks.finish()?;
    let row =
        row.ok_or_else(|| AppError::Internal(anyhow::anyhow!("checks passed without a row")))?;
    let txn = begin_write(db).await?;
    insert_checked(&txn, row.clone(), &at).await?;
    txn.commit().await?;
    Ok(row)
}

/// A customer, read inside a transaction.
pub async fn get_in<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<customers::Model>, AppError> {
    Ok(customers::Entity::find_by_id(id).one(db).await?)
}
