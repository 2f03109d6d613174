//! Customer rows: the ranked picker search, and writes with their word index.
use entity::{customer_words, customers};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::page::{Page, PageArgs};
use super::search::{TextQuery, ranked_page};
use super::sql::Sql;
use crate::domain::text::{normalize, words};

/// What the customer picker narrows by.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub text: Option<TextQuery>,
    /// ISO alpha-2, upper case.
    pub country: Option<String>,
    /// Normalized city name.
    pub city_norm: Option<String>,
}

/// One ranked page of customers.
pub async fn search<C: ConnectionTrait>(
    db: &C,
    filter: &CustomerFilter,
    args: &PageArgs,
) -> Result<Page<customers::Model>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT c.*, ");
    match &filter.text {
        Some(q) => q.push_rank(&mut sql, "c.name_norm"),
        None => {
            sql.push("0");
        }
    }
    sql.push(" AS search_rank FROM customers c WHERE 1 = 1");
    if let Some(q) = &filter.text {
        q.push_word_index(&mut sql, "customer_words", "customer_id", "c.id");
    }
    if let Some(country) = &filter.country {
        sql.push(" AND c.country = ").bind(country.clone());
    }
    if let Some(city) = &filter.city_norm {
        sql.push(" AND c.city_norm = ").bind(city.clone());
    }
    ranked_page(db, &sql, args).await
}

/// Inserts a customer and the words of its name.
pub async fn insert<C: ConnectionTrait>(db: &C, row: customers::Model) -> Result<(), DbErr> {
    let id = row.id;
    let name_words = words(&row.name_norm);
    customers::Entity::insert(customers::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    if !name_words.is_empty() {
        customer_words::Entity::insert_many(name_words.into_iter().map(|word| {
            customer_words::ActiveModel::from(customer_words::Model {
                word,
                customer_id: id,
            })
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The customer with this D-U-N-S number, if any.
pub async fn find_by_duns<C: ConnectionTrait>(
    db: &C,
    duns: &str,
) -> Result<Option<customers::Model>, DbErr> {
    customers::Entity::find()
        .filter(customers::Column::Duns.eq(duns))
        .one(db)
        .await
}

/// The normalized form of a city name, as stored.
pub fn city_key(city: &str) -> String {
    normalize(city)
}
