//! `/api/cms/customers`: customers and their prepaid wallets.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, apply_changes, from_value};
use super::query::{ListQuery, Page, PageQuery, QueryReader, range_end, range_start};
use super::record_id;
use super::validate::{In, choice, email, given, given_opt, phone, positive, required, text};
use crate::AppState;
use crate::db::wallet::{LedgerEntry, WalletRefusal};
use crate::db::{self, filter::Sort};
use crate::domain::customer::{Customer, CustomerFields, WalletTransaction};
use crate::domain::enums::WalletTransactionType;
use crate::domain::refusal::Refusal;
use crate::error::docs::{DeleteErrors, ListErrors, ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult, ResultExt};
use crate::fixed::Money;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(list_wallet_transactions, create_wallet_transaction))
}

/// A customer's fields as sent by a client. On update, the fields sent replace the stored ones.
/// The wallet balance is not among them: it changes only through wallet transactions.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Required, at most 255 characters.
    #[schema(value_type = String, example = "Asha Rao", min_length = 1, max_length = 255, pattern = "\\S")]
    pub customer_name: In<String>,
    /// Required: 7 to 15 digits, optionally after `+`; spaces, dashes, dots and brackets are
    /// dropped. Unique among live customers.
    #[schema(value_type = String, example = "+91 98765 43210")]
    pub phone: In<String>,
    /// An e-mail address such as `name@example.com`, at most 255 characters.
    #[schema(value_type = Option<String>, example = "asha@example.com", max_length = 255)]
    pub email: In<String>,
    /// At most 255 characters.
    #[schema(value_type = Option<String>, example = "Tata Nexon EV", max_length = 255)]
    pub default_vehicle: In<String>,
}

impl From<&Customer> for CustomerInput {
    fn from(c: &Customer) -> Self {
        Self {
            customer_name: given(c.customer_name.clone()),
            phone: given(c.phone.clone()),
            email: given_opt(c.email.clone()),
            default_vehicle: given_opt(c.default_vehicle.clone()),
        }
    }
}

impl CustomerInput {
    fn validate(self) -> ApiResult<CustomerFields> {
        crate::validate!(CustomerFields {
            customer_name = required(text(self.customer_name, 255)),
            phone = required(phone(self.phone)),
            email = email(self.email),
            default_vehicle = text(self.default_vehicle, 255),
        })
    }
}

/// Filters and paging of the customer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerListQuery {
    /// `created_at` (default `-created_at`), `customer_name`, `wallet_balance`; `-` for descending.
    #[param(pattern = "^-?(created_at|customer_name|wallet_balance)$")]
    sort: Option<String>,
    /// Case-insensitive text in the name, phone or e-mail; a phone number may be written with
    /// spaces or dashes.
    #[param(max_length = 255)]
    search: Option<String>,
    /// Created on or after this date (YYYY-MM-DD) or time (RFC 3339).
    #[param(format = Date)]
    created_from: Option<String>,
    /// Created on or before this date or time.
    #[param(format = Date)]
    created_to: Option<String>,
}

const SORTS: &[(&str, &str)] = &[
    ("created_at", "created_at"),
    ("customer_name", "customer_name"),
    ("wallet_balance", "wallet_balance"),
];

/// List live customers.
#[utoipa::path(get, path = "/customers", tag = "customers", params(PageQuery, CustomerListQuery),
    responses((status = 200, body = Page<Customer>), ListErrors))]
async fn list_customers(
    State(state): State<AppState>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<CustomerListQuery>,
) -> ApiResult<Json<Page<Customer>>> {
    let mut r = QueryReader::default();
    let filter = db::customers::CustomerFilter {
        search: r.text("search", q.search.as_deref()),
        created_from: r.parse("created_from", q.created_from.as_deref(), range_start),
        created_to: r.parse("created_to", q.created_to.as_deref(), range_end),
    };
    let page = r.page(&paging);
    let sort = r.sort(q.sort.as_deref(), SORTS, Sort::newest_first());
    r.finish()?;
    let result = db::customers::list(&state.db, &filter, &sort, page).await?;
    Ok(Json(Page::new(result, page, |c| c)))
}

/// One live customer, by id.
#[utoipa::path(get, path = "/customers/{customerId}", tag = "customers",
    params(("customerId" = i64, Path, description = "The customer's id")),
    responses((status = 200, body = Customer), ReadErrors))]
async fn get_customer(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
) -> ApiResult<Json<Customer>> {
    Ok(Json(find(&state, &customer_id).await?))
}

async fn find(state: &AppState, segment: &str) -> ApiResult<Customer> {
    let id = record_id(segment, "customer")?;
    db::customers::find(&state.db, id)
        .await?
        .ok_or_else(|| no_customer(segment))
}

fn no_customer(segment: &str) -> ApiError {
    ApiError::not_found(format!("no customer {segment:?}"))
}

/// Matches the live-phone index in both databases' errors (`uq_customers_phone`, `customers.phone`).
const PHONE_INDEX: &str = "phone";
const PHONE_TAKEN: &str = "a live customer already has this phone number";

/// Create a customer, with an empty wallet.
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = Customer), WriteErrors))]
async fn create_customer(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    let fields = from_value::<CustomerInput>(body.into())?.validate()?;
    let mut tx = state.db.begin().await?;
    let customer = db::customers::insert(&mut tx, &fields, db::now())
        .await
        .on_unique(PHONE_INDEX, "phone", PHONE_TAKEN)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

/// Update a customer: the fields sent replace the stored ones (`null` clears an optional field).
#[utoipa::path(put, path = "/customers/{customerId}", tag = "customers", request_body = CustomerInput,
    params(("customerId" = i64, Path, description = "The customer's id")),
    responses((status = 200, body = Customer), WriteErrors))]
async fn update_customer(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Customer>> {
    let current = find(&state, &customer_id).await?;
    let fields = apply_changes(CustomerInput::from(&current), body)?.validate()?;
    let mut tx = state.db.begin().await?;
    let customer = db::customers::update(&mut tx, current.id, &fields, db::now())
        .await
        .on_unique(PHONE_INDEX, "phone", PHONE_TAKEN)?
        .ok_or_else(|| no_customer(&customer_id))?;
    tx.commit().await?;
    Ok(Json(customer))
}

/// Soft-delete a customer; the phone number may then be given to a new customer, and the
/// customer's id tags are deleted. Refused (409) while the customer has an active charging
/// session. The wallet and its ledger are kept.
#[utoipa::path(delete, path = "/customers/{customerId}", tag = "customers",
    params(("customerId" = i64, Path, description = "The customer's id")),
    responses((status = 204, description = "Deleted"), DeleteErrors))]
async fn delete_customer(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = record_id(&customer_id, "customer")?;
    let mut tx = state.db.begin().await?;
    if !db::customers::lock(&mut tx, id).await? {
        return Err(no_customer(&customer_id));
    }
    match db::customers::active_sessions(&mut tx, id).await? {
        0 => {}
        sessions => return Err(Refusal::CustomerCharging { sessions }.into()),
    }
    db::customers::soft_delete(&mut tx, id, db::now()).await?;
    // Their cards no longer charge to anyone and may be given to other customers.
    db::id_tags::delete_of_customer(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters and paging of a wallet's ledger.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerListQuery {
    /// `created_at` or `amount`, `-` for descending. By default the newest entry comes first, in
    /// the exact order the balance changed (each entry's `balance` follows from the one below it).
    #[param(pattern = "^-?(created_at|amount)$")]
    sort: Option<String>,
    /// `Credit` or `Debit`.
    #[param(value_type = Option<WalletTransactionType>)]
    transaction_type: Option<String>,
    /// Made on or after this date (YYYY-MM-DD) or time (RFC 3339).
    #[param(format = Date)]
    created_from: Option<String>,
    /// Made on or before this date or time.
    #[param(format = Date)]
    created_to: Option<String>,
}

const LEDGER_SORTS: &[(&str, &str)] = &[("created_at", "created_at"), ("amount", "amount")];

/// A live customer's wallet ledger, each entry with the balance after it.
#[utoipa::path(get, path = "/customers/{customerId}/wallet-transactions", tag = "customers",
    params(("customerId" = i64, Path, description = "The customer's id"), PageQuery, LedgerListQuery),
    responses((status = 200, body = Page<WalletTransaction>), ListErrors, ReadErrors))]
async fn list_wallet_transactions(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<LedgerListQuery>,
) -> ApiResult<Json<Page<WalletTransaction>>> {
    let mut r = QueryReader::default();
    let filter = db::wallet::LedgerFilter {
        transaction_type: r.parse(
            "transaction_type",
            q.transaction_type.as_deref(),
            WalletTransactionType::parse,
        ),
        created_from: r.parse("created_from", q.created_from.as_deref(), range_start),
        created_to: r.parse("created_to", q.created_to.as_deref(), range_end),
    };
    let page = r.page(&paging);
    // The id order is the order the balance changed in, even when two concurrent entries got
    // their timestamps the other way round.
    let sort = r.sort(q.sort.as_deref(), LEDGER_SORTS, Sort::new("id", true, "id"));
    r.finish()?;
    let customer = find(&state, &customer_id).await?;
    let result = db::wallet::list(&state.db, customer.id, &filter, &sort, page).await?;
    Ok(Json(Page::new(result, page, |t| t)))
}

/// An operator's credit (a top-up) or manual debit of a wallet.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletTransactionInput {
    /// Required: `Credit` or `Debit`.
    #[schema(value_type = WalletTransactionType)]
    pub transaction_type: In<String>,
    /// Required: greater than 0 and less than 100000000, two decimals at most.
    #[schema(value_type = f64, example = 500.0, exclusive_minimum = 0, exclusive_maximum = 100000000, multiple_of = 0.01)]
    pub amount: In<Money>,
    /// At most 1000 characters.
    #[schema(value_type = Option<String>, example = "Top-up at the counter", max_length = 1000)]
    pub description: In<String>,
    /// The payment this entry is for, at most 255 characters; a wallet takes each reference once
    /// per direction.
    #[schema(value_type = Option<String>, example = "PAY-20261101-0042", max_length = 255)]
    pub reference_id: In<String>,
}

impl WalletTransactionInput {
    fn validate(self) -> ApiResult<LedgerEntry> {
        crate::validate!(LedgerEntry {
            transaction_type =
                required(choice(self.transaction_type, WalletTransactionType::parse)),
            amount = required(positive(self.amount, 100_000_000)),
            description = text(self.description, 1000),
            reference_id = text(self.reference_id, 255);
            // A manual debit never takes the wallet below zero.
            floor: Money::ZERO,
        })
    }
}

/// Credit or debit a live customer's wallet. A debit may not take the balance below zero (409
/// `insufficient_balance`); a reference is applied once (409 naming `reference_id`).
#[utoipa::path(post, path = "/customers/{customerId}/wallet-transactions", tag = "customers",
    request_body = WalletTransactionInput,
    params(("customerId" = i64, Path, description = "The customer's id")),
    responses((status = 201, body = WalletTransaction), WriteErrors))]
async fn create_wallet_transaction(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<WalletTransaction>)> {
    let id = record_id(&customer_id, "customer")?;
    let entry = from_value::<WalletTransactionInput>(body.into())?.validate()?;
    let mut tx = state.db.begin().await?;
    let applied = db::wallet::apply(&mut tx, id, &entry, db::now())
        .await
        .map_err(|err| {
            if db::wallet::is_duplicate_reference(&err) {
                Refusal::ReferenceUsed.into()
            } else {
                ApiError::from(err)
            }
        })?;
    let row = match applied {
        Ok(row) => row,
        Err(WalletRefusal::NotFound) => return Err(no_customer(&customer_id)),
        Err(WalletRefusal::DuplicateReference) => return Err(Refusal::ReferenceUsed.into()),
        Err(WalletRefusal::InsufficientFunds { balance }) => {
            return Err(Refusal::InsufficientBalance {
                balance,
                debit: entry.amount,
            }
            .into());
        }
        Err(WalletRefusal::BalanceLimit { balance }) => {
            return Err(Refusal::BalanceAboveMaximum {
                balance,
                maximum: crate::domain::customer::wallet_ceiling(),
            }
            .into());
        }
    };
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(row)))
}
