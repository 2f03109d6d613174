//! Customers: the picker search and creating one the search did not find.
use chrono::Utc;
use entity::customers;
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

use super::Checks;
use crate::db::begin_write;
use crate::domain::Viewer;
use crate::domain::text::normalize;
use crate::domain::values::{CountryCode, Duns, Name, Website, optional_name};
use crate::error::{AppError, UserError, UserErrorCode};
use crate::store::customers::{self as store, CustomerFilter, city_key};
use crate::store::search::TextQuery;
use crate::store::{Page, PageArgs};

/// A new customer as the client sends it.
#[derive(Debug, Clone, Default)]
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

/// Checks every field of `input` and creates the customer. A D-U-N-S number already on
/// file is refused: it names exactly one legal entity, which the picker already finds.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewCustomer,
) -> Result<customers::Model, AppError> {
    let mut checks = Checks::default();
    let name = checks.take(&["input", "name"], Name::parse(&input.name));
    let line1 = checks.take(
        &["input", "addressLine1"],
        Name::parse(&input.address_line1),
    );
    let line2 = checks.take(
        &["input", "addressLine2"],
        optional_name(input.address_line2.as_deref()),
    );
    let city = checks.take(&["input", "city"], Name::parse(&input.city));
    let region = checks.take(&["input", "region"], optional_name(input.region.as_deref()));
    let postal = checks.take(
        &["input", "postalCode"],
        optional_name(input.postal_code.as_deref()),
    );
    let country = checks.take(&["input", "country"], CountryCode::parse(&input.country));
    let duns = match input
        .duns
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => checks.take(&["input", "duns"], Duns::parse(d)).map(Some),
        None => Some(None),
    };
    let website = match input
        .website
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(w) => checks
            .take(&["input", "website"], Website::parse(w))
            .map(Some),
        None => Some(None),
    };
    checks.finish()?;
    let (
        Some(name),
        Some(line1),
        Some(line2),
        Some(city),
        Some(region),
        Some(postal),
        Some(country),
        Some(duns),
        Some(website),
    ) = (
        name, line1, line2, city, region, postal, country, duns, website,
    )
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "customer checks passed with a missing value"
        )));
    };

    let txn = begin_write(db).await?;
    if let Some(d) = &duns
        && store::find_by_duns(&txn, d.as_str()).await?.is_some()
    {
        return Err(UserError::new(
            UserErrorCode::BadUserInput,
            format!("a customer with D-U-N-S {} already exists", d.as_str()),
            &["input", "duns"],
        )
        .into());
    }
    let row = customers::Model {
        id: Uuid::now_v7(),
        name_norm: normalize(name.as_str()),
        name: name.into_inner(),
        address_line1: line1.into_inner(),
        address_line2: line2.map(Name::into_inner),
        city_norm: normalize(city.as_str()),
        city: city.into_inner(),
        region: region.map(Name::into_inner),
        postal_code: postal.map(Name::into_inner),
        country: country.as_str().to_owned(),
        duns: duns.map(|d| d.as_str().to_owned()),
        website: website.map(|w| w.as_str().to_owned()),
        created_by_organization_id: Some(viewer.organization_id),
        created_at: Utc::now(),
    };
    store::insert(&txn, row.clone()).await?;
    txn.commit().await?;
    Ok(row)
}
