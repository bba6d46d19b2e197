//! Test databases for harnesses that are not Rust (the browser tests, the
//! test scripts), on the PostgreSQL at `TEST_DATABASE_URL`:
//!
//!   tasktracker-testkit create-db [PREFIX]   prints the URL of a new, migrated database
//!   tasktracker-testkit drop-db NAME         drops it
//!   tasktracker-testkit template             makes the template if missing, prints its name
//!   tasktracker-testkit drop-templates       drops every template (database and SQLite file)

use anyhow::bail;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let admin = tasktracker_testkit::admin_url();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["create-db"] | ["create-db", _] => {
            let prefix = args.get(1).map_or("tasktracker_test", String::as_str);
            anyhow::ensure!(
                prefix.starts_with("tasktracker") && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "the prefix must start with `tasktracker` and be letters, digits and _: {prefix:?}"
            );
            let database = tasktracker_testkit::PostgresDatabase::create(&admin, prefix).await?;
            println!("{}", database.url);
            database.keep();
        }
        ["drop-db", name] => tasktracker_testkit::drop_database(&admin, name).await?,
        ["template"] => println!("{}", tasktracker_testkit::ensure_template(&admin).await?),
        ["drop-templates"] => {
            for dropped in tasktracker_testkit::drop_templates(&admin).await? {
                eprintln!("dropped {dropped}");
            }
        }
        _ => bail!("usage: tasktracker-testkit create-db [PREFIX] | drop-db NAME | template | drop-templates"),
    }
    Ok(())
}
