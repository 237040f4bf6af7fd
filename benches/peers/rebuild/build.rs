// The one line `migrate`'s README asks for, so that adding a migration
// rebuilds the crate; given to the refinery crate too, so that both pay
// the same for it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
