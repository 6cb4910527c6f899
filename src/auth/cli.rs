//! `evcms user add|reset-password|list`: account management without the API (for the first
//! admin, or when every admin is locked out). Opens the database of `DATABASE_URL` like the
//! server does.

use clap::Subcommand;

use super::accounts::{CreateUserError, NewUser, NewUserRefusal, create_user};
use super::password;
use crate::Config;
use crate::db::{self, Db, filter::PageRequest, filter::Sort};
use crate::domain::contact::Email;
use crate::domain::user::{Role, UserFields};

#[derive(Subcommand, Debug, Clone)]
pub enum UserCommand {
    /// Create a user; without --password a random one is generated and printed.
    Add {
        /// The e-mail address the user logs in with.
        #[arg(long)]
        email: String,
        /// The user's name (default: the part of the e-mail before the @).
        #[arg(long)]
        name: Option<String>,
        /// admin, operator or viewer.
        #[arg(long, default_value = "operator")]
        role: String,
        /// Limit the user to one organization (its code, e.g. massive_mobility).
        #[arg(long)]
        organization: Option<String>,
        /// The password (or EVCMS_USER_PASSWORD); at least 12 characters of two kinds.
        #[arg(long, env = "EVCMS_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new password (and sign the user out everywhere); without --password a random one
    /// is generated and printed.
    ResetPassword {
        #[arg(long)]
        email: String,
        /// The new password (or EVCMS_USER_PASSWORD).
        #[arg(long, env = "EVCMS_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List the users.
    List,
}

/// Runs `command` against the database of `config`; the error is one line for the user.
pub async fn run(config: &Config, command: UserCommand) -> Result<(), String> {
    let db = Db::connect(&config.database_url, 1)
        .await
        .map_err(|e| e.to_string())?;
    let result = execute(&db, command).await;
    db.close().await;
    result
}

async fn execute(db: &Db, command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            organization,
            password,
        } => {
            let email = Email::parse(&email)
                .map_err(|p| format!("--email {p}"))?
                .to_lowercase();
            let role = Role::parse(role.trim()).map_err(|p| format!("--role {p}"))?;
            let (password, generated) = match password {
                Some(p) => (p, false),
                None => (password::generate(), true),
            };
            let name = name.unwrap_or_else(|| email.local_part().to_owned());
            let new = NewUser {
                email: email.clone(),
                name,
                role,
                organization,
                active: true,
                password: password.clone(),
            };
            let user = create_user(db, new).await.map_err(|err| match err {
                CreateUserError::Refused(refusal) => refused(refusal, &email),
                other => other.to_string(),
            })?;
            println!(
                "created user {} ({}) with id {}",
                user.email, user.role, user.id
            );
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        UserCommand::ResetPassword { email, password } => {
            let user = db::users::find_by_email(db, &email)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user with the e-mail {}", email.trim()))?;
            let (password, generated) = chosen_password(password, user.email.as_str())?;
            let fields = UserFields {
                email: user.email.clone(),
                name: user.name.clone(),
                password_hash: password::hash_blocking(password.clone())
                    .await
                    .map_err(|e| e.to_string())?,
                role: user.role,
                organization: user.organization.clone(),
                active: true,
            };
            let mut tx = db.begin().await.map_err(|e| e.to_string())?;
            db::users::update(&mut tx, user.id, &fields, true, db::now())
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            println!(
                "new password set for {} (and the account re-activated)",
                user.email
            );
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        UserCommand::List => {
            let mut page = 1;
            println!(
                "{:>5}  {:<32} {:<9} {:<18} {:<6} name",
                "id", "email", "role", "organization", "active"
            );
            loop {
                let users = db::users::list(
                    db,
                    &Default::default(),
                    &Sort::new("id", false, "id"),
                    PageRequest { page, limit: 100 },
                )
                .await
                .map_err(|e| e.to_string())?;
                for u in &users.rows {
                    println!(
                        "{:>5}  {:<32} {:<9} {:<18} {:<6} {}",
                        u.id,
                        u.email,
                        u.role.as_str(),
                        u.organization.as_deref().unwrap_or("(all)"),
                        u.active,
                        u.name
                    );
                }
                if users.rows.len() < 100 {
                    return Ok(());
                }
                page += 1;
            }
        }
    }
}

/// A refused `user add`, worded for the command line.
fn refused(refusal: NewUserRefusal, email: &Email) -> String {
    match refusal {
        NewUserRefusal::UnknownOrganization { known } => {
            format!("--organization must be one of: {}", known.join(", "))
        }
        NewUserRefusal::EmailTaken => format!("a user with the e-mail {email} already exists"),
        other @ (NewUserRefusal::AdminWithOrganization(_) | NewUserRefusal::WeakPassword(_)) => {
            other.to_string()
        }
    }
}

/// The password given (checked for strength) or a generated one, and whether it was generated.
fn chosen_password(given: Option<String>, email: &str) -> Result<(String, bool), String> {
    match given {
        Some(p) => match password::weakness(&p, email) {
            Some(problem) => Err(format!("the password {problem}")),
            None => Ok((p, false)),
        },
        None => Ok((password::generate(), true)),
    }
}
