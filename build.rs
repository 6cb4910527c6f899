//! The migrations are embedded by `sqlx::migrate!`; without this, adding or editing one would not
//! rebuild the binary that embeds them.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
