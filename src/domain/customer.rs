//! Customers and the ledger of their prepaid wallets.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::contact::{Email, Phone};
use super::enums::WalletTransactionType;
use crate::fixed::Money;

/// A customer as stored and shown.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Customer {
    pub id: i64,
    pub customer_name: String,
    /// `+` and digits (E.164), unique among live customers.
    pub phone: String,
    pub email: Option<String>,
    pub default_vehicle: Option<String>,
    /// The prepaid balance after the latest wallet transaction; changed only through the ledger.
    pub wallet_balance: Money,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A customer's editable fields, validated.
#[derive(Debug, Clone)]
pub struct CustomerFields {
    pub customer_name: String,
    pub phone: Phone,
    pub email: Option<Email>,
    pub default_vehicle: Option<String>,
}

/// One entry of a wallet's ledger.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct WalletTransaction {
    pub id: i64,
    pub customer_id: i64,
    pub transaction_type: WalletTransactionType,
    /// Always positive; `transaction_type` gives the direction.
    pub amount: Money,
    /// The wallet's balance right after this transaction.
    pub balance: Money,
    pub description: Option<String>,
    /// The payment or session this entry is for; a wallet is credited (or debited) at most once
    /// per reference.
    pub reference_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The largest balance a wallet holds (the column is `NUMERIC(10,2)`): 99,999,999.99. It is also
/// the largest bill: an amount beyond it is a meter fault to flag, not money to move.
pub fn wallet_ceiling() -> Money {
    Money::from_minor(9_999_999_999)
}

/// The lowest balance a wallet holds: the floor of credits (never refused for leaving the wallet
/// too low) and of session bills (energy already delivered is owed).
pub fn wallet_floor() -> Money {
    Money::from_minor(-9_999_999_999)
}
